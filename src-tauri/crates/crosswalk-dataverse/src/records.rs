//! Records: read one, list pages, create, update with ETags, delete (api/microsoft.md §F.4,
//! §F.5, §F.10) and change tracking (§F.6).

use crate::models::{
    Change, ChangePage, DeltaLink, Etag, NextLink, Page, Query, Record, TrackFrom,
};
use crate::{check_id, check_name, enc, DataverseClient, Error, Result, API};
use crosswalk_http::header::{HeaderName, HeaderValue, IF_MATCH};
use crosswalk_http::{Method, RequestSpec, StatusCode};
use serde_json::{Map, Value};

const ROUTE_SET: &str = "/api/data/v9.2/{entity_set}";
const ROUTE_RECORD: &str = "/api/data/v9.2/{entity_set}({id})";
const PREFER: HeaderName = HeaderName::from_static("prefer");
const ANNOTATIONS: &str = "odata.include-annotations=\"*\"";

/// Ids per `list_by_ids` request.
pub const IDS_PER_REQUEST: usize = 50;
/// Longest URL `list_by_ids` builds; Dataverse accepts 32 KB, proxies often only 8 KB.
pub const MAX_URL_CHARS: usize = 8 * 1024;

/// The `Prefer` header from its comma-separated parts.
pub(crate) fn prefer(parts: &[String]) -> Option<HeaderValue> {
    (!parts.is_empty())
        .then(|| HeaderValue::from_str(&parts.join(",")).ok())
        .flatten()
}

fn with_prefer(spec: RequestSpec, parts: &[String]) -> RequestSpec {
    match prefer(parts) {
        Some(value) => spec.header(PREFER, value),
        None => spec,
    }
}

fn select_option(select: &[&str]) -> Result<Option<String>> {
    for column in select {
        check_name("column", column)?;
    }
    Ok((!select.is_empty()).then(|| format!("$select={}", select.join(","))))
}

/// The id in `OData-EntityId: https://org/api/data/v9.2/incidents(<guid>)`.
fn id_from_entity_id(header: &str) -> Option<String> {
    let start = header.rfind('(')? + 1;
    let end = start + header[start..].find(')')?;
    Some(
        header[start..end]
            .trim_matches(['{', '}'])
            .to_ascii_lowercase(),
    )
}

/// A collection answer: its objects and the links that end it.
struct Collection {
    items: Vec<Map<String, Value>>,
    next: Option<String>,
    delta: Option<String>,
}

/// Splits a collection answer into its objects and links.
fn collection(route: &'static str, value: Value) -> Result<Collection> {
    let Value::Object(mut body) = value else {
        return Err(Error::Unexpected {
            route,
            detail: "the answer is not a JSON object".to_owned(),
        });
    };
    let link = |body: &mut Map<String, Value>, key: &str| match body.remove(key) {
        Some(Value::String(link)) => Some(link),
        _ => None,
    };
    let next = link(&mut body, "@odata.nextLink");
    let delta = link(&mut body, "@odata.deltaLink");
    let items = match body.remove("value") {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Object(object) => Some(object),
                _ => None,
            })
            .collect(),
        _ => {
            return Err(Error::Unexpected {
                route,
                detail: "the answer has no value array".to_owned(),
            })
        }
    };
    Ok(Collection { items, next, delta })
}

impl DataverseClient {
    /// One record with the `select`ed columns (all when empty), formatted values when asked.
    ///
    /// # Errors
    /// `Http(NotFound)` when the record does not exist; `MissingPrivilege` without Read.
    pub async fn get(
        &self,
        entity_set: &str,
        id: &str,
        select: &[&str],
        formatted: bool,
    ) -> Result<Record> {
        check_name("entity set", entity_set)?;
        check_id(id)?;
        let table = self.table_by_set(entity_set).await?;
        let mut target = format!("{API}/{entity_set}({id})");
        if let Some(select) = select_option(select)? {
            target = format!("{target}?{select}");
        }
        let prefer: Vec<String> = if formatted {
            vec![ANNOTATIONS.to_owned()]
        } else {
            Vec::new()
        };
        let value: Value = self
            .send_json(with_prefer(RequestSpec::get(ROUTE_RECORD, target), &prefer))
            .await?;
        match value {
            Value::Object(object) => {
                let mut record = Record::from_object(object, &table.primary_id_attribute);
                if record.id.is_empty() {
                    record.id = id.to_ascii_lowercase();
                }
                Ok(record)
            }
            _ => Err(Error::Unexpected {
                route: ROUTE_RECORD,
                detail: "the answer is not a JSON object".to_owned(),
            }),
        }
    }

    /// One page of records matching `query`; pass the previous page's `next` to continue.
    ///
    /// Links are followed unchanged with the same page size, as Dataverse requires.
    ///
    /// # Errors
    /// `MissingPrivilege` without Read on the table; `Http(Remote)` for an invalid filter.
    pub async fn list(
        &self,
        entity_set: &str,
        query: &Query,
        next: Option<&NextLink>,
    ) -> Result<Page> {
        check_name("entity set", entity_set)?;
        let table = self.table_by_set(entity_set).await?;
        let target = match next {
            Some(link) => link.0.clone(),
            None => {
                let mut options = Vec::new();
                let select: Vec<&str> = query.select.iter().map(String::as_str).collect();
                options.extend(select_option(&select)?);
                if let Some(filter) = &query.filter {
                    options.push(format!("$filter={}", enc(filter)));
                }
                if let Some(orderby) = &query.orderby {
                    options.push(format!("$orderby={}", enc(orderby)));
                }
                let mut target = format!("{API}/{entity_set}");
                if !options.is_empty() {
                    target = format!("{target}?{}", options.join("&"));
                }
                target
            }
        };
        let mut prefer = Vec::new();
        if query.formatted {
            prefer.push(ANNOTATIONS.to_owned());
        }
        if let Some(size) = query.page_size {
            prefer.push(format!("odata.maxpagesize={}", size.clamp(1, 5000)));
        }
        let response = self
            .send(with_prefer(RequestSpec::get(ROUTE_SET, target), &prefer))
            .await?;
        let value: Value = response.json()?;
        let Collection { items, next, .. } = collection(ROUTE_SET, value)?;
        Ok(Page {
            records: items
                .into_iter()
                .map(|item| Record::from_object(item, &table.primary_id_attribute))
                .collect(),
            next: next.map(NextLink),
            server_time: response.date(),
        })
    }

    /// The records of `entity_set` with these ids (`id_attribute` is the primary key column,
    /// e.g. `incidentid`), with the `select`ed columns and formatted values when asked: up to
    /// [`IDS_PER_REQUEST`] ids per request as `$filter=<key> eq <id> or …`, URLs kept under
    /// [`MAX_URL_CHARS`]. Ids that match nothing (deleted, or not visible) are simply missing;
    /// the order is Dataverse's, not `ids`'.
    ///
    /// # Errors
    /// `InvalidArgument` for an id that is not a GUID; `MissingPrivilege` without Read.
    pub async fn list_by_ids(
        &self,
        entity_set: &str,
        id_attribute: &str,
        ids: &[String],
        select: &[&str],
        formatted: bool,
    ) -> Result<Vec<Record>> {
        check_name("entity set", entity_set)?;
        check_name("column", id_attribute)?;
        let mut wanted: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            check_id(id)?;
            let id = id.to_ascii_lowercase();
            if !wanted.contains(&id) {
                wanted.push(id);
            }
        }
        let prefix = match select_option(select)? {
            Some(select) => format!("{API}/{entity_set}?{select}&$filter="),
            None => format!("{API}/{entity_set}?$filter="),
        };
        let prefer: Vec<String> = if formatted {
            vec![ANNOTATIONS.to_owned()]
        } else {
            Vec::new()
        };
        let mut records = Vec::new();
        let mut rest = &wanted[..];
        while !rest.is_empty() {
            // As many ids as fit in one URL (the org URL comes on top; allow it 1 KB).
            let mut filter = String::new();
            let mut taken = 0;
            for id in rest.iter().take(IDS_PER_REQUEST) {
                let clause = format!("{id_attribute} eq {id}");
                let next = if filter.is_empty() {
                    clause
                } else {
                    format!("{filter} or {clause}")
                };
                if taken > 0 && prefix.len() + enc(&next).len() > MAX_URL_CHARS - 1024 {
                    break;
                }
                filter = next;
                taken += 1;
            }
            rest = &rest[taken..];
            let mut target = format!("{prefix}{}", enc(&filter));
            loop {
                let value: Value = self
                    .send_json(with_prefer(RequestSpec::get(ROUTE_SET, target), &prefer))
                    .await?;
                let Collection { items, next, .. } = collection(ROUTE_SET, value)?;
                records.extend(
                    items
                        .into_iter()
                        .map(|item| Record::from_object(item, id_attribute)),
                );
                match next {
                    Some(link) => target = link,
                    None => break,
                }
            }
        }
        Ok(records)
    }

    /// Creates a record from `body` (columns, `nav@odata.bind` for lookups) and returns its id.
    ///
    /// # Errors
    /// `MissingPrivilege` without Create; `Http(Remote)` for invalid columns or values.
    pub async fn create(&self, entity_set: &str, body: &Value) -> Result<String> {
        check_name("entity set", entity_set)?;
        let response = self
            .send(
                RequestSpec::new(Method::POST, ROUTE_SET, format!("{API}/{entity_set}")).json(body),
            )
            .await?;
        response
            .header("odata-entityid")
            .and_then(id_from_entity_id)
            .ok_or(Error::Unexpected {
                route: ROUTE_SET,
                detail: "no OData-EntityId header in the answer".to_owned(),
            })
    }

    /// Updates columns of an existing record, only if it still has `if_match` when given.
    ///
    /// Always sends `If-Match` (`*` without an etag) so a PATCH never creates a missing record.
    ///
    /// # Errors
    /// `PreconditionFailed` when the record changed since `if_match` was read;
    /// `Http(NotFound)` when it does not exist; `InvalidStateTransition` for a refused state.
    pub async fn update(
        &self,
        entity_set: &str,
        id: &str,
        body: &Value,
        if_match: Option<&Etag>,
    ) -> Result<()> {
        check_name("entity set", entity_set)?;
        check_id(id)?;
        let etag = if_match.map_or("*", |etag| etag.0.as_str());
        let etag = HeaderValue::from_str(etag).map_err(|_| Error::InvalidArgument {
            what: "etag",
            value: etag.chars().take(64).collect(),
        })?;
        let response = self
            .send(
                RequestSpec::new(
                    Method::PATCH,
                    ROUTE_RECORD,
                    format!("{API}/{entity_set}({id})"),
                )
                .header(IF_MATCH, etag)
                .json(body)
                .allow_status(StatusCode::PRECONDITION_FAILED),
            )
            .await?;
        if response.status() == StatusCode::PRECONDITION_FAILED {
            return Err(Error::PreconditionFailed {
                entity_set: entity_set.to_owned(),
            });
        }
        Ok(())
    }

    /// Deletes a record.
    ///
    /// # Errors
    /// `Http(NotFound)` when it is already gone; `MissingPrivilege` without Delete.
    pub async fn delete(&self, entity_set: &str, id: &str) -> Result<()> {
        check_name("entity set", entity_set)?;
        check_id(id)?;
        self.send(RequestSpec::new(
            Method::DELETE,
            ROUTE_RECORD,
            format!("{API}/{entity_set}({id})"),
        ))
        .await?;
        Ok(())
    }

    /// One page of changes of a change-tracked table: everything (`Initial`), the next page, or
    /// what changed since a delta link. Loop until `delta_link` is set, then store it.
    ///
    /// # Errors
    /// `ChangeTrackingDisabled` when the table is not tracked (fall back to `modifiedon`);
    /// `FullSyncRequired` when the delta link expired; `MissingPrivilege` without Read.
    pub async fn track_changes(
        &self,
        entity_set: &str,
        select: &[&str],
        from: &TrackFrom,
        page_size: Option<u32>,
    ) -> Result<ChangePage> {
        check_name("entity set", entity_set)?;
        let table = self.table_by_set(entity_set).await?;
        let target = match from {
            TrackFrom::Initial => match select_option(select)? {
                Some(select) => format!("{API}/{entity_set}?{select}"),
                None => format!("{API}/{entity_set}"),
            },
            TrackFrom::NextPage(link) => link.0.clone(),
            TrackFrom::Delta(link) => link.0.clone(),
        };
        let mut prefer = vec!["odata.track-changes".to_owned()];
        if let Some(size) = page_size {
            prefer.push(format!("odata.maxpagesize={}", size.clamp(1, 5000)));
        }
        let value: Value = self
            .send_json(with_prefer(RequestSpec::get(ROUTE_SET, target), &prefer))
            .await
            .map_err(|error| tracking_error(error, entity_set))?;
        let Collection { items, next, delta } = collection(ROUTE_SET, value)?;
        let changes = items
            .into_iter()
            .map(|item| {
                let deleted = item
                    .get("@odata.context")
                    .and_then(Value::as_str)
                    .is_some_and(|context| context.ends_with("$deletedEntity"));
                if deleted {
                    Change::Deleted {
                        id: item
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        reason: item
                            .get("reason")
                            .and_then(Value::as_str)
                            .unwrap_or("deleted")
                            .to_owned(),
                    }
                } else {
                    Change::Upsert(Record::from_object(item, &table.primary_id_attribute))
                }
            })
            .collect();
        Ok(ChangePage {
            changes,
            next: next.map(NextLink),
            delta_link: delta.map(DeltaLink),
        })
    }
}

/// Change-tracking refusals, recognised by their documented texts (the codes are undocumented).
fn tracking_error(error: Error, entity_set: &str) -> Error {
    let Some((_, message)) = error.remote_code() else {
        return error;
    };
    let message = message.to_ascii_lowercase();
    if message.contains("enabled for change tracking") {
        Error::ChangeTrackingDisabled {
            entity_set: entity_set.to_owned(),
        }
    } else if message.contains("version stamp associated with the client has expired")
        || message.contains("perform a full sync")
    {
        Error::FullSyncRequired {
            entity_set: entity_set.to_owned(),
        }
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_id_header_gives_the_guid() {
        assert_eq!(
            id_from_entity_id("https://org.crm.dynamics.com/api/data/v9.2/incidents(9B7C0000-0000-0000-0000-000000000001)"),
            Some("9b7c0000-0000-0000-0000-000000000001".to_owned())
        );
        assert_eq!(id_from_entity_id("nothing"), None);
    }
}
