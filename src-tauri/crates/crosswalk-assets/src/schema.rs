//! Object schemas, object types, attributes, icons, status types and reference types (§D.3–D.5,
//! §D.8).

use crate::input::{NewAttribute, NewObjectSchema, NewObjectType, NewStatusType};
use crate::models::{
    Icon, ObjectSchema, ObjectType, ObjectTypeAttribute, Page, ReferenceType, StatusType,
};
use crate::{encode, AssetsClient, Error, Result};
use crosswalk_http::{Method, RequestSpec};

/// Page size `all_schemas` asks for.
const SCHEMA_PAGE: u32 = 50;

impl AssetsClient {
    /// One page of the workspace's object schemas.
    ///
    /// # Errors
    /// `Error::PermissionDenied` without Assets access; `Error::Http` otherwise.
    pub async fn list_schemas(
        &self,
        start_at: u64,
        max_results: u32,
    ) -> Result<Page<ObjectSchema>> {
        let target = format!("objectschema/list?startAt={start_at}&maxResults={max_results}");
        self.send(RequestSpec::get("/objectschema/list", target))
            .await
    }

    /// Every object schema, paging through `list_schemas`.
    ///
    /// # Errors
    /// As `list_schemas`.
    pub async fn all_schemas(&self) -> Result<Vec<ObjectSchema>> {
        let mut all = Vec::new();
        let mut start = 0;
        loop {
            let page = self.list_schemas(start, SCHEMA_PAGE).await?;
            let next = page.next_start();
            all.extend(page.values);
            match next {
                Some(next) if next > start => start = next,
                _ => return Ok(all),
            }
        }
    }

    /// One object schema by id.
    ///
    /// # Errors
    /// `Error::Http(NotFound)` when it does not exist.
    pub async fn get_schema(&self, schema_id: &str) -> Result<ObjectSchema> {
        let target = format!("objectschema/{}", encode(schema_id));
        self.send(RequestSpec::get("/objectschema/{id}", target))
            .await
    }

    /// The schema whose name or key is `name_or_key` (case-insensitive), if any.
    ///
    /// # Errors
    /// As `list_schemas`.
    pub async fn find_schema(&self, name_or_key: &str) -> Result<Option<ObjectSchema>> {
        Ok(self.all_schemas().await?.into_iter().find(|s| {
            s.name.eq_ignore_ascii_case(name_or_key)
                || s.object_schema_key.eq_ignore_ascii_case(name_or_key)
        }))
    }

    /// Creates an object schema.
    ///
    /// # Errors
    /// `Error::NameConflict` when the name or key is taken; `Error::ValidationFailed` for other
    /// refusals (e.g. a malformed key); `Error::PermissionDenied`.
    pub async fn create_schema(&self, new: &NewObjectSchema) -> Result<ObjectSchema> {
        const ROUTE: &str = "/objectschema/create";
        let spec = RequestSpec::new(Method::POST, ROUTE, "objectschema/create").json(new);
        match self.send_checked(spec).await? {
            Ok(schema) => Ok(schema),
            Err(rejection) => {
                // Decide by the workspace's state, not the (undocumented) message text.
                let taken = self.all_schemas().await.ok().and_then(|all| {
                    all.into_iter().find(|s| {
                        s.name.eq_ignore_ascii_case(new.name.trim())
                            || s.object_schema_key == new.object_schema_key
                    })
                });
                Err(match taken {
                    Some(existing) if existing.name.eq_ignore_ascii_case(new.name.trim()) => {
                        Error::NameConflict {
                            what: "object schema",
                            name: existing.name,
                        }
                    }
                    Some(existing) => Error::NameConflict {
                        what: "object schema key",
                        name: existing.object_schema_key,
                    },
                    None => rejection.into_error(ROUTE),
                })
            }
        }
    }

    /// All object types of a schema, as a flat list.
    ///
    /// # Errors
    /// `Error::Http(NotFound)` for an unknown schema.
    pub async fn object_types(&self, schema_id: &str) -> Result<Vec<ObjectType>> {
        let target = format!("objectschema/{}/objecttypes/flat", encode(schema_id));
        self.send(RequestSpec::get(
            "/objectschema/{id}/objecttypes/flat",
            target,
        ))
        .await
    }

    /// One object type by id.
    ///
    /// # Errors
    /// `Error::Http(NotFound)` when it does not exist.
    pub async fn get_object_type(&self, type_id: &str) -> Result<ObjectType> {
        let target = format!("objecttype/{}", encode(type_id));
        self.send(RequestSpec::get("/objecttype/{id}", target))
            .await
    }

    /// The global icons; creating an object type needs one of their ids.
    ///
    /// # Errors
    /// `Error::PermissionDenied` without Assets access; `Error::Http` otherwise.
    pub async fn global_icons(&self) -> Result<Vec<Icon>> {
        self.send(RequestSpec::get("/icon/global", "icon/global"))
            .await
    }

    /// Creates an object type (with Assets' automatic Key/Name/Created/Updated attributes).
    ///
    /// # Errors
    /// `Error::NameConflict` when the schema has a type of that name; `Error::ValidationFailed`
    /// for other refusals (e.g. an unknown icon); `Error::PermissionDenied`.
    pub async fn create_object_type(&self, new: &NewObjectType) -> Result<ObjectType> {
        const ROUTE: &str = "/objecttype/create";
        let spec = RequestSpec::new(Method::POST, ROUTE, "objecttype/create").json(new);
        match self.send_checked(spec).await? {
            Ok(created) => Ok(created),
            Err(rejection) => {
                let taken = self
                    .object_types(&new.object_schema_id)
                    .await
                    .ok()
                    .and_then(|all| {
                        all.into_iter()
                            .find(|t| t.name.eq_ignore_ascii_case(new.name.trim()))
                    });
                Err(match taken {
                    Some(existing) => Error::NameConflict {
                        what: "object type",
                        name: existing.name,
                    },
                    None => rejection.into_error(ROUTE),
                })
            }
        }
    }

    /// The attributes of an object type, system ones (Key, Name, Created, Updated) included.
    ///
    /// # Errors
    /// `Error::Http(NotFound)` for an unknown type.
    pub async fn attributes(&self, type_id: &str) -> Result<Vec<ObjectTypeAttribute>> {
        let target = format!("objecttype/{}/attributes", encode(type_id));
        self.send(RequestSpec::get("/objecttype/{id}/attributes", target))
            .await
    }

    /// Adds an attribute to an object type.
    ///
    /// # Errors
    /// `Error::NameConflict` when the type has an attribute of that name;
    /// `Error::ValidationFailed` for other refusals; `Error::PermissionDenied`.
    pub async fn create_attribute(
        &self,
        type_id: &str,
        new: &NewAttribute,
    ) -> Result<ObjectTypeAttribute> {
        const ROUTE: &str = "/objecttypeattribute/{objectTypeId}";
        let target = format!("objecttypeattribute/{}", encode(type_id));
        let spec = RequestSpec::new(Method::POST, ROUTE, target).json(new);
        match self.send_checked(spec).await? {
            Ok(created) => Ok(created),
            Err(rejection) => {
                let taken = self.attributes(type_id).await.ok().and_then(|all| {
                    all.into_iter()
                        .find(|a| a.name.eq_ignore_ascii_case(new.name.trim()))
                });
                Err(match taken {
                    Some(existing) => Error::NameConflict {
                        what: "attribute",
                        name: existing.name,
                    },
                    None => rejection.into_error(ROUTE),
                })
            }
        }
    }

    /// The status types usable in `schema_id` (global ones included), or only the global ones.
    ///
    /// # Errors
    /// `Error::PermissionDenied` without Assets access; `Error::Http` otherwise.
    pub async fn status_types(&self, schema_id: Option<&str>) -> Result<Vec<StatusType>> {
        let target = match schema_id {
            Some(id) => format!("config/statustype?objectSchemaId={}", encode(id)),
            None => "config/statustype".to_owned(),
        };
        self.send(RequestSpec::get("/config/statustype", target))
            .await
    }

    /// Creates a status type (scoped to a schema, or global).
    ///
    /// # Errors
    /// `Error::NameConflict` when a status of that name is visible there;
    /// `Error::ValidationFailed`; `Error::PermissionDenied`.
    pub async fn create_status_type(&self, new: &NewStatusType) -> Result<StatusType> {
        const ROUTE: &str = "/config/statustype";
        let spec = RequestSpec::new(Method::POST, ROUTE, "config/statustype").json(new);
        match self.send_checked(spec).await? {
            Ok(created) => Ok(created),
            Err(rejection) => {
                let taken = self
                    .status_types(new.object_schema_id.as_deref())
                    .await
                    .ok()
                    .and_then(|all| {
                        all.into_iter()
                            .find(|s| s.name.eq_ignore_ascii_case(new.name.trim()))
                    });
                Err(match taken {
                    Some(existing) => Error::NameConflict {
                        what: "status",
                        name: existing.name,
                    },
                    None => rejection.into_error(ROUTE),
                })
            }
        }
    }

    /// The reference types usable in `schema_id` (global ones included), or only global ones.
    ///
    /// # Errors
    /// `Error::PermissionDenied` without Assets access; `Error::Http` otherwise.
    pub async fn reference_types(&self, schema_id: Option<&str>) -> Result<Vec<ReferenceType>> {
        let target = match schema_id {
            Some(id) => format!("config/referencetype?objectSchemaId={}", encode(id)),
            None => "config/referencetype".to_owned(),
        };
        self.send(RequestSpec::get("/config/referencetype", target))
            .await
    }
}
