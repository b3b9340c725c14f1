//! Failures of the Microsoft Entra token endpoint, mapped from its error body to causes an admin
//! can fix.
//!
//! Microsoft warns that AADSTS numbers change, so the OAuth `error` class is the fallback and an
//! unknown code still produces a readable `Rejected`.

use crate::redact::one_line;
use crosswalk_core::{Code, UserFacing};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why Entra refused to issue a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// AADSTS7000222: the client secret is past its expiry date.
    #[error("the client secret has expired (AADSTS7000222)")]
    ExpiredSecret,
    /// AADSTS7000215 (or `invalid_client`): wrong secret, often the secret's ID instead of its value.
    #[error("the client secret was rejected (AADSTS7000215)")]
    InvalidSecret,
    /// AADSTS700016: no application with this client ID in the tenant.
    #[error("application {client_id} was not found in tenant {tenant} (AADSTS700016)")]
    UnknownClient { tenant: String, client_id: String },
    /// AADSTS90002 / 900023 / 9001023: the tenant does not exist in this cloud or is not usable.
    #[error("tenant {tenant} was not found at {authority} (AADSTS{code})")]
    UnknownTenant {
        tenant: String,
        authority: String,
        code: u64,
    },
    /// AADSTS65001: an admin has not consented to the app's permissions.
    #[error("admin consent is missing for application {client_id} (AADSTS65001)")]
    ConsentRequired { client_id: String },
    /// AADSTS500011 / 70011 / 700022: the resource (Graph, a Dataverse URL) is wrong for this tenant.
    #[error("the resource {resource} is not available in tenant {tenant} (AADSTS{code})")]
    UnknownResource {
        tenant: String,
        resource: String,
        code: u64,
    },
    /// `temporarily_unavailable`: Entra asked to try later.
    #[error("the sign-in service is temporarily unavailable")]
    Unavailable,
    /// Any other refusal, with Entra's own words (first line, redacted).
    #[error("Entra refused to issue a token: {error}{}: {description}", code_suffix(.code))]
    Rejected {
        error: String,
        code: Option<u64>,
        description: String,
    },
    /// The token endpoint answered with something that is neither a token nor an OAuth error.
    #[error("the sign-in endpoint at {authority} gave an unexpected answer: {detail}")]
    Malformed { authority: String, detail: String },
}

fn code_suffix(code: &Option<u64>) -> String {
    code.map(|code| format!(" (AADSTS{code})"))
        .unwrap_or_default()
}

/// The token endpoint's error body (RFC 6749 §5.2 plus Entra's `error_codes` and ids).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct EntraErrorBody {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub error_codes: Vec<u64>,
    #[serde(default)]
    pub error_uri: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl fmt::Display for EntraErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(description) = self.first_description_line() {
            write!(f, ": {description}")?;
        }
        Ok(())
    }
}

impl oauth2::ErrorResponse for EntraErrorBody {}

impl EntraErrorBody {
    /// The description without the trace/correlation lines Entra appends.
    fn first_description_line(&self) -> Option<String> {
        let description = self.error_description.as_deref()?;
        let first = description.lines().next().unwrap_or_default();
        let line = one_line(first, 300);
        (!line.is_empty()).then_some(line)
    }

    /// The AADSTS numbers: `error_codes`, else the `AADSTSnnnn:` prefix of the description.
    fn codes(&self) -> Vec<u64> {
        if !self.error_codes.is_empty() {
            return self.error_codes.clone();
        }
        let description = self.error_description.as_deref().unwrap_or_default();
        description
            .find("AADSTS")
            .map(|at| &description[at + "AADSTS".len()..])
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|digits| digits.parse().ok())
            .into_iter()
            .collect()
    }
}

/// What was asked for, so a `TokenError` can name it.
pub(crate) struct TokenRequestContext<'a> {
    pub authority: &'a str,
    pub tenant: &'a str,
    pub client_id: &'a str,
    pub resource: &'a str,
}

impl TokenError {
    /// Maps an error body from the token endpoint.
    pub(crate) fn from_body(
        body: &EntraErrorBody,
        context: &TokenRequestContext<'_>,
    ) -> TokenError {
        let tenant = || context.tenant.to_owned();
        for code in body.codes() {
            match code {
                7000222 => return TokenError::ExpiredSecret,
                7000215 | 7000218 => return TokenError::InvalidSecret,
                700016 => {
                    return TokenError::UnknownClient {
                        tenant: tenant(),
                        client_id: context.client_id.to_owned(),
                    }
                }
                90002 | 900023 | 9001023 => {
                    return TokenError::UnknownTenant {
                        tenant: tenant(),
                        authority: context.authority.to_owned(),
                        code,
                    }
                }
                65001 => {
                    return TokenError::ConsentRequired {
                        client_id: context.client_id.to_owned(),
                    }
                }
                500011 | 70011 | 700022 => {
                    return TokenError::UnknownResource {
                        tenant: tenant(),
                        resource: context.resource.to_owned(),
                        code,
                    }
                }
                _ => {}
            }
        }
        match body.error.as_str() {
            "temporarily_unavailable" => TokenError::Unavailable,
            "invalid_client" if body.codes().is_empty() => TokenError::InvalidSecret,
            "invalid_tenant" => TokenError::UnknownTenant {
                tenant: tenant(),
                authority: context.authority.to_owned(),
                code: 90002,
            },
            "consent_required" => TokenError::ConsentRequired {
                client_id: context.client_id.to_owned(),
            },
            _ => TokenError::Rejected {
                error: one_line(&body.error, 80),
                code: body.codes().first().copied(),
                description: body.first_description_line().unwrap_or_default(),
            },
        }
    }

    /// What an admin sees, with the place in the Entra admin center to fix it.
    pub fn user_facing(&self) -> UserFacing {
        match self {
            TokenError::ExpiredSecret => UserFacing::new(Code::AuthExpired, "The client secret has expired.").with_fix(
                "Create a new client secret in Entra ID > App registrations > <app> > Certificates & secrets and save its Value (not its ID) in Crosswalk",
            ),
            TokenError::InvalidSecret => UserFacing::new(Code::AuthExpired, "Microsoft Entra rejected the client secret.").with_fix(
                "Copy the secret's Value (not its Secret ID) from Entra ID > App registrations > <app> > Certificates & secrets and save it in Crosswalk; if the Value is no longer shown, create a new client secret",
            ),
            TokenError::UnknownClient { tenant, client_id } => UserFacing::new(
                Code::AuthExpired,
                format!("Application (client) ID {client_id} was not found in tenant {tenant}."),
            )
            .with_fix(
                "Copy the Application (client) ID from Entra ID > App registrations > <app> > Overview, and check that the tenant ID is the directory the app is registered in",
            ),
            TokenError::UnknownTenant { tenant, authority, .. } => UserFacing::new(
                Code::Validation,
                format!("Tenant {tenant} was not found at {authority}."),
            )
            .with_fix(
                "Copy the Tenant ID from Entra ID > Overview; if the tenant is in a national cloud (US Government or China), choose that cloud for the connection",
            ),
            TokenError::ConsentRequired { .. } => UserFacing::new(
                Code::PermissionDenied,
                "An administrator has not granted consent to the app's permissions.",
            )
            .with_fix(
                "In Entra ID > App registrations > <app> > API permissions, add the application permissions Crosswalk needs and click \"Grant admin consent\"",
            ),
            TokenError::UnknownResource { resource, tenant, .. } => UserFacing::new(
                Code::Validation,
                format!("Microsoft Entra does not know the resource {resource} in tenant {tenant}."),
            )
            .with_fix(
                "For Dataverse, copy the Environment URL from the Power Platform admin center > Environments > <environment> and check that the environment belongs to this tenant",
            ),
            TokenError::Unavailable => {
                UserFacing::new(Code::RemoteUnavailable, "The Microsoft Entra sign-in service is temporarily unavailable.")
                    .with_fix("Try again in a few minutes")
            }
            TokenError::Rejected { error, code, description } => {
                let message = format!("Microsoft Entra refused to issue a token: {error}{}.", code_suffix(code));
                let fix = match code {
                    Some(code) => format!(
                        "Look up AADSTS{code} at https://login.microsoftonline.com/error?code={code} (Entra said: {description})"
                    ),
                    None => format!("Check the connection's tenant ID, client ID and secret (Entra said: {description})"),
                };
                UserFacing::new(Code::AuthExpired, message).with_fix(fix)
            }
            TokenError::Malformed { authority, .. } => UserFacing::new(
                Code::RemoteUnavailable,
                format!("The sign-in endpoint at {authority} did not answer like Microsoft Entra."),
            )
            .with_fix("Check the connection's cloud and authority URL (for the global cloud: https://login.microsoftonline.com)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(body: serde_json::Value) -> TokenError {
        let body: EntraErrorBody =
            serde_json::from_value(body).expect("test body is an error body");
        let context = TokenRequestContext {
            authority: "login.microsoftonline.com",
            tenant: "contoso.onmicrosoft.com",
            client_id: "535fb089-9ff3-47b6-9bfb-4f1264799865",
            resource: "https://contoso.crm.dynamics.com",
        };
        TokenError::from_body(&body, &context)
    }

    #[test]
    fn codes_found_only_in_the_description_still_map() {
        let error = map(serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000222: The provided client secret keys for app '535f' are expired.\r\nTrace ID: x"
        }));
        assert_eq!(error, TokenError::ExpiredSecret);
    }

    #[test]
    fn unknown_codes_keep_entras_words_without_trace_lines() {
        let error = map(serde_json::json!({
            "error": "invalid_request",
            "error_description": "AADSTS900144: The request body must contain the following parameter: 'grant_type'.\r\nTrace ID: 1\r\nCorrelation ID: 2",
            "error_codes": [900144]
        }));
        let TokenError::Rejected {
            code, description, ..
        } = &error
        else {
            panic!("expected Rejected, got {error:?}")
        };
        assert_eq!(*code, Some(900144));
        assert_eq!(
            description,
            "AADSTS900144: The request body must contain the following parameter: 'grant_type'."
        );
        assert!(error
            .user_facing()
            .fix
            .unwrap_or_default()
            .contains("error?code=900144"));
    }

    #[test]
    fn error_class_is_the_fallback() {
        assert_eq!(
            map(serde_json::json!({"error": "temporarily_unavailable"})),
            TokenError::Unavailable
        );
        assert_eq!(
            map(serde_json::json!({"error": "invalid_client"})),
            TokenError::InvalidSecret
        );
    }
}
