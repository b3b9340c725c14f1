//! Field value conversion between Dataverse columns and Jira fields.
