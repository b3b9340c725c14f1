//! Input checks shared by the config file, the CLI and the console, with messages that say how
//! to fix the value.

use url::Url;

/// A configuration value an admin must correct; `field` names it as the config file does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    /// A problem with `field`, explained by `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// True for the 8-4-4-4-12 hex form Entra uses for tenant, client and object ids.
pub fn is_guid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    parts.len() == 5
        && parts
            .iter()
            .zip(lens)
            .all(|(part, len)| part.len() == len && part.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Checks a name admins use to refer to a connection or job on the command line.
pub fn check_name(field: &str, value: &str) -> Result<(), ValidationError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!(
                "\"{value}\" is not a valid name: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit"
            ),
        ))
    }
}

/// Checks a Directory (tenant) ID: a GUID or a verified domain, never `common`/`consumers`.
pub fn check_tenant_id(field: &str, value: &str) -> Result<(), ValidationError> {
    let lower = value.to_ascii_lowercase();
    if matches!(lower.as_str(), "common" | "consumers" | "organizations") {
        return Err(ValidationError::new(
            field,
            format!("\"{value}\" is a multi-tenant alias; app-only sign-in needs your own tenant. Copy the Directory (tenant) ID from Entra ID > Overview"),
        ));
    }
    let is_domain = lower.contains('.')
        && lower.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if is_guid(value) || is_domain {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("\"{value}\" is not a tenant ID: expected a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47 or a verified domain like contoso.onmicrosoft.com (Entra ID > Overview > Tenant ID)"),
        ))
    }
}

/// Checks an Application (client) ID.
pub fn check_client_id(field: &str, value: &str) -> Result<(), ValidationError> {
    if is_guid(value) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("\"{value}\" is not a client ID: expected the Application (client) ID GUID from the app registration's Overview page"),
        ))
    }
}

/// Parses an https base URL (plain http is accepted only for loopback hosts, e.g. the sandbox).
pub fn check_base_url(field: &str, value: &str) -> Result<Url, ValidationError> {
    let url = Url::parse(value.trim()).map_err(|error| {
        ValidationError::new(
            field,
            format!(
                "\"{value}\" is not a URL ({error}); expected something like https://example.com"
            ),
        )
    })?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(ValidationError::new(
                field,
                format!("\"{value}\" must use https:// (plain http is allowed only for localhost)"),
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ValidationError::new(
            field,
            format!("\"{value}\" has no host name"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ValidationError::new(
            field,
            format!("\"{value}\" must be a base URL without ?query or #fragment"),
        ));
    }
    Ok(url)
}

/// Checks an account email address (for Jira basic auth).
pub fn check_email(field: &str, value: &str) -> Result<(), ValidationError> {
    let mut parts = value.split('@');
    let ok = matches!((parts.next(), parts.next(), parts.next()), (Some(local), Some(domain), None)
        if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'))
        && !value.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("\"{value}\" is not an email address; use the Atlassian account email the API token belongs to"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_accept_guids_and_domains_only() {
        assert!(check_tenant_id("t", "72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
        assert!(check_tenant_id("t", "contoso.onmicrosoft.com").is_ok());
        for bad in [
            "common",
            "Consumers",
            "not a tenant",
            "72f988bf-86f1-41af-91ab",
            "",
            "a..b",
        ] {
            assert!(
                check_tenant_id("t", bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn client_ids_must_be_guids() {
        assert!(check_client_id("c", "535fb089-9ff3-47b6-9bfb-4f1264799865").is_ok());
        assert!(check_client_id("c", "535fb0899ff347b69bfb4f1264799865").is_err());
        assert!(check_client_id("c", "zzzzzzzz-9ff3-47b6-9bfb-4f1264799865").is_err());
    }

    #[test]
    fn base_urls_must_be_https_unless_loopback() {
        assert!(check_base_url("u", "https://acme.atlassian.net").is_ok());
        assert!(check_base_url("u", "http://127.0.0.1:8080/").is_ok());
        assert!(check_base_url("u", "http://acme.atlassian.net").is_err());
        assert!(check_base_url("u", "acme.atlassian.net").is_err());
        assert!(check_base_url("u", "https://acme.atlassian.net/?x=1").is_err());
    }

    #[test]
    fn names_are_cli_friendly() {
        assert!(check_name("n", "jira-prod").is_ok());
        assert!(check_name("n", "a.b_c-1").is_ok());
        assert!(check_name("n", "").is_err());
        assert!(check_name("n", "-x").is_err());
        assert!(check_name("n", "with space").is_err());
    }

    #[test]
    fn emails_need_one_at_and_a_domain() {
        assert!(check_email("e", "admin@acme.com").is_ok());
        assert!(check_email("e", "admin").is_err());
        assert!(check_email("e", "a@b@c.com").is_err());
        assert!(check_email("e", "admin@localhost").is_err());
    }
}
