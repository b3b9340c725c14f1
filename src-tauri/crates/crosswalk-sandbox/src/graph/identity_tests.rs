//! Token endpoint conformance tests (api/microsoft.md §A).

use super::tests::token_response;
use crate::identity::{CLIENT_ID, CLIENT_SECRET, CLIENT_SECRET_ID, TENANT_DOMAIN, TENANT_ID};
use crate::{Sandbox, SandboxOptions};
use serde_json::Value;

async fn start() -> (Sandbox, String, String) {
    let sb = Sandbox::start(SandboxOptions::default())
        .await
        .expect("sandbox starts");
    let graph = format!("{}/.default", sb.urls.graph.as_str().trim_end_matches('/'));
    let dataverse = format!(
        "{}/.default",
        sb.urls.dataverse.as_str().trim_end_matches('/')
    );
    (sb, graph, dataverse)
}

fn form<'a>(client: &'a str, secret: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", client),
        ("client_secret", secret),
        ("scope", scope),
        ("grant_type", "client_credentials"),
    ]
}

fn assert_aadsts(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"][0], code, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap_or_default()
        .starts_with(&format!("AADSTS{code}:")));
    assert!(
        body["trace_id"].is_string()
            && body["correlation_id"].is_string()
            && body["timestamp"].is_string()
    );
}

// api/microsoft.md §A.4 Success response
#[tokio::test]
async fn success_has_the_documented_shape() {
    let (sb, graph, _) = start().await;
    for tenant in [TENANT_ID, TENANT_DOMAIN] {
        let (status, body) =
            token_response(&sb, tenant, &form(CLIENT_ID, CLIENT_SECRET, &graph)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].as_i64().is_some_and(|s| s > 0));
        assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(
            body.get("refresh_token").is_none(),
            "no refresh token for client credentials"
        );
    }
}

// api/microsoft.md §A.5 error table (tenant, client, secret)
#[tokio::test]
async fn tenant_client_and_secret_errors() {
    let (sb, graph, _) = start().await;
    let (status, body) = token_response(
        &sb,
        "11111111-2222-3333-4444-555555555555",
        &form(CLIENT_ID, CLIENT_SECRET, &graph),
    )
    .await;
    assert_eq!(status, 400);
    assert_aadsts(&body, "invalid_tenant", 90002);
    let (status, body) =
        token_response(&sb, "common", &form(CLIENT_ID, CLIENT_SECRET, &graph)).await;
    assert_eq!(status, 400);
    assert_aadsts(&body, "invalid_request", 9001023);
    let (status, body) = token_response(
        &sb,
        TENANT_ID,
        &form(
            "99999999-9999-4999-8999-999999999999",
            CLIENT_SECRET,
            &graph,
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_aadsts(&body, "unauthorized_client", 700016);
    let (status, body) = token_response(&sb, TENANT_ID, &form(CLIENT_ID, "wrong", &graph)).await;
    assert_eq!(status, 401);
    assert_aadsts(&body, "invalid_client", 7000215);
    // The secret's ID pasted instead of its value.
    let (status, body) =
        token_response(&sb, TENANT_ID, &form(CLIENT_ID, CLIENT_SECRET_ID, &graph)).await;
    assert_eq!(status, 401);
    assert_aadsts(&body, "invalid_client", 7000215);
}

// api/microsoft.md §A.5 (7000222 expired secret)
#[tokio::test]
async fn expired_secret_is_refused() {
    let (sb, graph, _) = start().await;
    sb.handle.identity(|i| {
        if let Some(app) = i.app_mut(CLIENT_ID) {
            app.secrets[0].end = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        }
    });
    let (status, body) =
        token_response(&sb, TENANT_ID, &form(CLIENT_ID, CLIENT_SECRET, &graph)).await;
    assert_eq!(status, 401);
    assert_aadsts(&body, "invalid_client", 7000222);
}

// api/microsoft.md §A.2 / §A.5 (scope errors 70011, 700022, 500011)
#[tokio::test]
async fn scope_errors() {
    let (sb, graph, dataverse) = start().await;
    let (status, body) = token_response(
        &sb,
        TENANT_ID,
        &form(CLIENT_ID, CLIENT_SECRET, "User.Read.All"),
    )
    .await;
    assert_eq!(status, 400);
    assert_aadsts(&body, "invalid_scope", 70011);
    let both = format!("{graph} {dataverse}");
    let (status, body) =
        token_response(&sb, TENANT_ID, &form(CLIENT_ID, CLIENT_SECRET, &both)).await;
    assert_eq!(status, 400);
    assert_aadsts(&body, "invalid_scope", 700022);
    let (status, body) = token_response(
        &sb,
        TENANT_ID,
        &form(
            CLIENT_ID,
            CLIENT_SECRET,
            "https://unknown.example.com/.default",
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_aadsts(&body, "invalid_resource", 500011);
}

// api/microsoft.md §H (a GET gets AADSTS900561)
#[tokio::test]
async fn get_is_refused() {
    let (sb, _, _) = start().await;
    let url = format!(
        "{}/{TENANT_ID}/oauth2/v2.0/token",
        sb.urls.login.as_str().trim_end_matches('/')
    );
    let response = reqwest::get(url).await.expect("answers");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_aadsts(&body, "invalid_request", 900561);
}
