//! Test-facing writes "from the other side": a person editing issues on the site. They go
//! through the same code as the edit, transition, comment and create endpoints, so every
//! change moves `updated`, lands in the changelog and is found by JQL `updated >=`.

use super::{extras, issues, JiraState};
use crate::generator::jira::adf_text;
use crate::generator::{MutationSystem, RecordChange, RecordMutation};
use axum::response::Response;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

const SUMMARIES: [&str; 6] = [
    "Printer on floor 2 offline",
    "Request a second monitor",
    "Password reset loop",
    "Shared mailbox missing",
    "Wi-Fi slow in meeting room B",
    "Licence for the design tool",
];
const LABELS: [&str; 5] = ["triaged", "vip", "hardware", "network", "follow-up"];

fn refused(response: &Response) -> String {
    format!("HTTP {}", response.status())
}

impl JiraState {
    fn project_key_of(&self, idx: usize) -> String {
        let issue = &self.issues[idx];
        self.project(&issue.project)
            .map_or_else(|| issue.project.clone(), |p| p.key.clone())
    }

    /// Edits an issue as `PUT /rest/api/3/issue/{key}` with `{"fields": fields}` would: the
    /// same validation, a changelog entry by `author_account_id` and `updated = now` when
    /// something changed.
    pub fn update_issue_fields(
        &mut self,
        key: &str,
        fields: Map<String, Value>,
        author_account_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        let idx = self
            .issue_index(key)
            .ok_or_else(|| format!("no issue {key}"))?;
        let body = json!({ "fields": fields });
        issues::edit_issue(self, idx, &body, author_account_id, now).map_err(|r| refused(&r))
    }

    /// Deletes an issue as `DELETE /rest/api/3/issue/{key}` does (its attachments go with it);
    /// false when there is no such issue.
    pub fn delete_issue(&mut self, key: &str) -> bool {
        let Some(idx) = self.issue_index(key) else {
            return false;
        };
        let issue = self.issues.remove(idx);
        for a in issue.attachments {
            self.attachments.remove(&a);
        }
        true
    }

    /// Adds a comment (plain text, stored as ADF) as `POST .../comment` does; returns its id.
    pub fn add_comment(
        &mut self,
        key: &str,
        plain_text: &str,
        author_account_id: &str,
        now: OffsetDateTime,
    ) -> Result<String, String> {
        let idx = self
            .issue_index(key)
            .ok_or_else(|| format!("no issue {key}"))?;
        extras::push_comment(
            self,
            idx,
            adf_text(plain_text),
            author_account_id,
            now,
            None,
            BTreeMap::new(),
        )
        .map(|c| c.id.to_string())
        .map_err(|r| refused(&r))
    }

    /// Moves an issue to the status named `to_status_name` (case-insensitive) through a
    /// transition available from its current status, as `POST .../transitions` does.
    pub fn transition_issue(
        &mut self,
        key: &str,
        to_status_name: &str,
        author_account_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        let idx = self
            .issue_index(key)
            .ok_or_else(|| format!("no issue {key}"))?;
        let transition = self
            .transitions_from(idx)
            .into_iter()
            .find(|(_, to)| to.eq_ignore_ascii_case(to_status_name))
            .map(|(id, _)| id)
            .ok_or_else(|| format!("no transition of {key} to \"{to_status_name}\""))?;
        let body = json!({"transition": {"id": transition}});
        issues::transition_issue(self, idx, &body, author_account_id, now)
            .map_err(|e| e.to_string())
    }

    /// Creates an issue as `POST /rest/api/3/issue` with `{"fields": fields}` does (fields
    /// include `project` and `issuetype`); returns the new key.
    pub fn create_issue(
        &mut self,
        fields: Map<String, Value>,
        author_account_id: &str,
        now: OffsetDateTime,
    ) -> Result<String, String> {
        let body = json!({ "fields": fields });
        issues::create_one(self, author_account_id, now, &body)
            .map(|v| v["key"].as_str().unwrap_or("").to_owned())
            .map_err(|(_, e)| e.to_string())
    }

    /// Adds a transition to the workflow of `key`'s issue type, as a Jira admin editing the
    /// workflow does (every issue type sharing the workflow gets it): from the status ids in
    /// `from` (empty: from any status) to the status id `to`. Returns the new transition's id.
    pub fn add_workflow_transition(
        &mut self,
        key: &str,
        name: &str,
        from: &[&str],
        to: &str,
    ) -> Result<String, String> {
        let idx = self
            .issue_index(key)
            .ok_or_else(|| format!("no issue {key}"))?;
        if self.status(to).is_none() {
            return Err(format!("no status {to}"));
        }
        let workflow = self
            .issue_type(&self.issues[idx].issue_type)
            .map(|t| t.workflow)
            .ok_or_else(|| format!("{key} has no issue type"))?;
        let workflow = &mut self.workflows[workflow];
        let id = workflow
            .transitions
            .iter()
            .filter_map(|t| t.id.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 10;
        workflow
            .transitions
            .push(crate::generator::jira::Transition {
                id: id.to_string(),
                name: name.to_owned(),
                to: to.to_owned(),
                from: from.iter().map(|s| (*s).to_owned()).collect(),
                has_screen: false,
            });
        Ok(id.to_string())
    }

    /// (transition id, target status name) of the transitions available to `issues[idx]`.
    fn transitions_from(&self, idx: usize) -> Vec<(String, String)> {
        let issue = &self.issues[idx];
        let Some(t) = self.issue_type(&issue.issue_type) else {
            return Vec::new();
        };
        self.workflows[t.workflow]
            .transitions
            .iter()
            .filter(|tr| {
                tr.to != issue.status && (tr.from.is_empty() || tr.from.contains(&issue.status))
            })
            .filter_map(|tr| Some((tr.id.clone(), self.status(&tr.to)?.name.clone())))
            .collect()
    }

    /// `n` deterministic (same state + seed → same changes) edits, as agents make them:
    /// summary / description / priority / labels edits, comments, transitions and new issues,
    /// each by an active person on the site.
    pub fn mutate(&mut self, seed: u64, n: usize, now: OffsetDateTime) -> Vec<RecordMutation> {
        let mut rng = StdRng::seed_from_u64(seed);
        let people: Vec<String> = self
            .users
            .iter()
            .filter(|u| u.active && u.account_type == "atlassian")
            .map(|u| u.account_id.clone())
            .collect();
        let mut out = Vec::with_capacity(n);
        let mut deck = Vec::new();
        for step in 0..n {
            let author = if people.is_empty() {
                crate::generator::jira::ADMIN_ACCOUNT_ID.to_owned()
            } else {
                people[rng.random_range(0..people.len())].clone()
            };
            let kind = if self.issues.is_empty() {
                0
            } else {
                crate::generator::next_kind(&mut rng, &mut deck)
            };
            let done = match kind {
                0 | 1 => self.mutate_create(&mut rng, step, &author, now),
                2..=5 => self.mutate_edit(&mut rng, step, &author, now),
                6 | 7 => self.mutate_transition(&mut rng, &author, now),
                _ => None,
            };
            let done = done.or_else(|| {
                let idx = rng.random_range(0..self.issues.len().max(1));
                let key = self.issues.get(idx)?.key.clone();
                let text = format!(
                    "Update {}: checked with the user, still happening.",
                    step + 1
                );
                let id = self.add_comment(&key, &text, &author, now).ok()?;
                Some((idx, RecordChange::Commented { comment_id: id }))
            });
            if let Some((idx, change)) = done {
                out.push(RecordMutation {
                    system: MutationSystem::Jira,
                    table: self.project_key_of(idx),
                    id: self.issues[idx].key.clone(),
                    change,
                });
            }
        }
        out
    }

    fn mutate_create(
        &mut self,
        rng: &mut StdRng,
        step: usize,
        author: &str,
        now: OffsetDateTime,
    ) -> Option<(usize, RecordChange)> {
        let mut choices = Vec::new();
        for p in &self.projects {
            for t in &p.issue_types {
                if self
                    .issue_type(t)
                    .is_some_and(|t| t.required.iter().all(|r| r == "summary"))
                {
                    choices.push((p.key.clone(), t.clone()));
                }
            }
        }
        if choices.is_empty() {
            return None;
        }
        let (project, issue_type) = choices[rng.random_range(0..choices.len())].clone();
        let mut fields = Map::new();
        fields.insert("project".into(), json!({"key": project}));
        fields.insert("issuetype".into(), json!({"id": issue_type}));
        let summary = SUMMARIES[rng.random_range(0..SUMMARIES.len())];
        fields.insert("summary".into(), json!(format!("{summary} ({})", step + 1)));
        let key = self.create_issue(fields, author, now).ok()?;
        Some((self.issue_index(&key)?, RecordChange::Created))
    }

    fn mutate_edit(
        &mut self,
        rng: &mut StdRng,
        step: usize,
        author: &str,
        now: OffsetDateTime,
    ) -> Option<(usize, RecordChange)> {
        let idx = rng.random_range(0..self.issues.len());
        let issue = &self.issues[idx];
        let screen = self.issue_type(&issue.issue_type)?.screen.clone();
        let candidates: Vec<&str> = ["summary", "description", "priority", "labels"]
            .into_iter()
            .filter(|f| screen.iter().any(|s| s == f))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let field = candidates[rng.random_range(0..candidates.len())];
        let value = match field {
            "summary" => {
                let summary = SUMMARIES[rng.random_range(0..SUMMARIES.len())];
                json!(format!("{summary} (edited {})", step + 1))
            }
            "description" => adf_text(&format!(
                "Edited {}: steps to reproduce added by the reporter.",
                step + 1
            )),
            "priority" => {
                let current = issue.fields.get("priority").cloned();
                let others: Vec<&str> = self
                    .priorities
                    .iter()
                    .filter(|p| current.as_ref() != Some(&json!(p.id)))
                    .map(|p| p.id.as_str())
                    .collect();
                if others.is_empty() {
                    return None;
                }
                json!({"id": others[rng.random_range(0..others.len())]})
            }
            _ => {
                let mut labels: Vec<String> = issue
                    .fields
                    .get("labels")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|l| l.as_str().map(str::to_owned))
                    .collect();
                let label = LABELS[rng.random_range(0..LABELS.len())].to_owned();
                if let Some(i) = labels.iter().position(|l| *l == label) {
                    labels.remove(i);
                } else {
                    labels.push(label);
                }
                json!(labels)
            }
        };
        let key = issue.key.clone();
        let before = issue.updated;
        let histories = issue.histories.len();
        let mut fields = Map::new();
        fields.insert(field.to_owned(), value);
        self.update_issue_fields(&key, fields, author, now).ok()?;
        let issue = &self.issues[idx];
        // An edit that changed nothing records nothing (as the endpoint): not a mutation.
        if issue.histories.len() == histories && issue.updated == before {
            return None;
        }
        Some((
            idx,
            RecordChange::Edited {
                fields: vec![field.to_owned()],
            },
        ))
    }

    fn mutate_transition(
        &mut self,
        rng: &mut StdRng,
        author: &str,
        now: OffsetDateTime,
    ) -> Option<(usize, RecordChange)> {
        let idx = rng.random_range(0..self.issues.len());
        let options = self.transitions_from(idx);
        if options.is_empty() {
            return None;
        }
        let (_, to) = options[rng.random_range(0..options.len())].clone();
        let key = self.issues[idx].key.clone();
        self.transition_issue(&key, &to, author, now).ok()?;
        Some((idx, RecordChange::StatusChanged { to }))
    }
}
