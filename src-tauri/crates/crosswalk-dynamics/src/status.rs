//! Status matching between Jira workflows and Dataverse state/status pairs.
