//! Objects (§D.6) and AQL search (§D.7).

use crate::input::ObjectInput;
use crate::models::{Object, Page};
use crate::{encode, AssetsClient, Error, Rejection, Result, SEARCH_PAGE};
use crosswalk_http::{Method, RequestSpec, StatusCode};
use serde_json::json;

/// Prefix of attribute keys in Assets' validation errors.
const ATTRIBUTE_KEY: &str = "rlabs-insight-attribute-";

/// Quotes `text` as an AQL string literal.
pub fn aql_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        if matches!(ch, '"' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

impl AssetsClient {
    /// Creates an object. Assets answers without attributes; `get_object` reads them.
    ///
    /// # Errors
    /// `Error::UniqueViolation` when another object holds a unique attribute's value;
    /// `Error::ValidationFailed` for other refused values; `Error::PermissionDenied`.
    pub async fn create_object(&self, input: &ObjectInput) -> Result<Object> {
        const ROUTE: &str = "/object/create";
        let spec = RequestSpec::new(Method::POST, ROUTE, "object/create").json(input);
        match self.send_checked(spec).await? {
            Ok(object) => Ok(object),
            Err(rejection) => Err(self.object_rejection(ROUTE, input, None, rejection).await),
        }
    }

    /// One object with its attributes, by id or object key.
    ///
    /// # Errors
    /// `Error::Http(NotFound)` when it does not exist.
    pub async fn get_object(&self, id_or_key: &str) -> Result<Object> {
        let target = format!("object/{}", encode(id_or_key));
        self.send(RequestSpec::get("/object/{id}", target)).await
    }

    /// Sets the attributes listed in `input` (others keep their values) and returns the object.
    ///
    /// # Errors
    /// As `create_object`; `Error::Http(NotFound)` when the object is gone.
    pub async fn update_object(&self, id: &str, input: &ObjectInput) -> Result<Object> {
        const ROUTE: &str = "/object/{id}";
        let target = format!("object/{}", encode(id));
        let spec = RequestSpec::new(Method::PUT, ROUTE, target).json(input);
        match self.send_checked(spec).await? {
            Ok(object) => Ok(object),
            Err(rejection) => Err(self
                .object_rejection(ROUTE, input, Some(id), rejection)
                .await),
        }
    }

    /// Deletes an object; one that is already gone counts as deleted (a retried delete).
    ///
    /// # Errors
    /// `Error::PermissionDenied`; `Error::Http` otherwise.
    pub async fn delete_object(&self, id: &str) -> Result<()> {
        let target = format!("object/{}", encode(id));
        let spec = RequestSpec::new(Method::DELETE, "/object/{id}", target)
            .allow_status(StatusCode::NOT_FOUND);
        self.http
            .send(spec)
            .await
            .map_err(crate::error::from_http)?;
        Ok(())
    }

    /// One page of the objects matching `aql`, with their attributes when asked.
    ///
    /// # Errors
    /// `Error::ValidationFailed` for a malformed query; `Error::PermissionDenied`.
    pub async fn search(
        &self,
        aql: &str,
        start_at: u64,
        max_results: u32,
        include_attributes: bool,
    ) -> Result<Page<Object>> {
        const ROUTE: &str = "/object/aql";
        let target = format!(
            "object/aql?startAt={start_at}&maxResults={max_results}&includeAttributes={include_attributes}"
        );
        // A search changes nothing, so repeating it after a failure is harmless.
        let spec = RequestSpec::new(Method::POST, ROUTE, target)
            .json(&json!({ "qlQuery": aql }))
            .idempotent(true);
        self.send_checked(spec)
            .await?
            .map_err(|rejection| rejection.into_error(ROUTE))
    }

    /// Every object matching `aql`, paging until the last page.
    ///
    /// # Errors
    /// As `search`.
    pub async fn search_all(&self, aql: &str, include_attributes: bool) -> Result<Vec<Object>> {
        let mut all = Vec::new();
        let mut start = 0;
        loop {
            let page = self
                .search(aql, start, SEARCH_PAGE, include_attributes)
                .await?;
            let next = page.next_start();
            all.extend(page.values);
            match next {
                Some(next) if next > start => start = next,
                _ => return Ok(all),
            }
        }
    }

    /// The object of a type whose `attribute_name` equals `value` (ignoring case), e.g. the
    /// object holding an Entra object ID. `type_name_or_id` is a type id (all digits) or a type
    /// name; names are not unique across schemas, so prefer the id.
    ///
    /// # Errors
    /// `Error::Ambiguous` when several objects match; as `search` otherwise.
    pub async fn find_by_attribute(
        &self,
        type_name_or_id: &str,
        attribute_name: &str,
        value: &str,
    ) -> Result<Option<Object>> {
        let aql = attribute_query(type_name_or_id, attribute_name, value);
        let mut page = self.search(&aql, 0, 2, true).await?;
        match page.values.len() {
            0 | 1 => Ok(page.values.pop()),
            count => Err(Error::Ambiguous {
                attribute: attribute_name.to_owned(),
                count: page.total.map_or(count, |t| t as usize),
            }),
        }
    }

    /// Classifies a refused object write: a unique attribute whose value another object holds
    /// is a `UniqueViolation`; anything else stays `ValidationFailed`. Decided by the type's
    /// attributes and a search, since Assets' message texts are not documented.
    async fn object_rejection(
        &self,
        route: &'static str,
        input: &ObjectInput,
        own_id: Option<&str>,
        rejection: Rejection,
    ) -> Error {
        let failing: Vec<&str> = rejection
            .errors
            .keys()
            .filter_map(|key| key.strip_prefix(ATTRIBUTE_KEY))
            .collect();
        if failing.is_empty() {
            return rejection.into_error(route);
        }
        let Ok(attributes) = self.attributes(&input.object_type_id).await else {
            return rejection.into_error(route);
        };
        for attribute in attributes
            .iter()
            .filter(|a| a.unique_attribute && failing.contains(&a.id.as_str()))
        {
            for value in input.values(&attribute.id) {
                let aql = attribute_query(&input.object_type_id, &attribute.name, value.as_str());
                let Ok(page) = self.search(&aql, 0, 5, false).await else {
                    continue;
                };
                if let Some(holder) = page
                    .values
                    .into_iter()
                    .find(|o| Some(o.id.as_str()) != own_id)
                {
                    return Error::UniqueViolation {
                        attribute: attribute.name.clone(),
                        attribute_id: attribute.id.clone(),
                        value: value.as_str().to_owned(),
                        existing_key: holder.object_key,
                    };
                }
            }
        }
        rejection.into_error(route)
    }
}

/// `objectTypeId = 12 AND "Attr" = "value"` (or `objectType = "Name"` for a name).
fn attribute_query(type_name_or_id: &str, attribute_name: &str, value: &str) -> String {
    let type_clause =
        if !type_name_or_id.is_empty() && type_name_or_id.bytes().all(|b| b.is_ascii_digit()) {
            format!("objectTypeId = {type_name_or_id}")
        } else {
            format!("objectType = {}", aql_quote(type_name_or_id))
        };
    format!(
        "{type_clause} AND {} = {}",
        aql_quote(attribute_name),
        aql_quote(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_queries_quote_names_and_values() {
        assert_eq!(
            attribute_query("12", "Entra Object ID", "a\"b\\c"),
            r#"objectTypeId = 12 AND "Entra Object ID" = "a\"b\\c""#
        );
        assert_eq!(
            attribute_query("Entra User", "Mail", "x"),
            r#"objectType = "Entra User" AND "Mail" = "x""#
        );
    }
}
