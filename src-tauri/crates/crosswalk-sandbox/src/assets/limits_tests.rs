//! Conformance tests for Assets' rate limits, written from api/atlassian.md §D.10.

use super::tests::{object, user_type, Ws};
use super::{AssetsLimits, EndpointCount};
use crate::jira::{ADMIN_API_TOKEN, ADMIN_EMAIL, VIEWER_API_TOKEN, VIEWER_EMAIL};
use crate::{Fault, FaultRule, LatencyProfile, Sandbox, SandboxOptions, Server};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

/// The raw answer (headers included) to an admin request.
async fn raw(ws: &Ws, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut request = ws
        .http
        .request(method, format!("{}{path}", ws.base))
        .basic_auth(ADMIN_EMAIL, Some(ADMIN_API_TOKEN));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Limits where `GET /objectschema/list` allows `budget` requests a minute.
fn schema_list_limited(budget: u32) -> AssetsLimits {
    let mut limits = AssetsLimits::documented();
    limits
        .per_endpoint
        .insert("GET /objectschema/list".into(), budget);
    limits
}

fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

// api/atlassian.md §D.10: one per-minute bucket per endpoint (totalcount: 500), a 429 with
// `Retry-After` in seconds and `X-RateLimit-Reset`, other endpoints unaffected, and the bucket
// refills after the minute.
#[tokio::test]
async fn documented_limits_throttle_each_endpoint_on_its_own_bucket() {
    let ws = Ws::start().await;
    ws.sandbox
        .handle
        .assets(|a| a.limits = Some(AssetsLimits::documented()));
    let count = json!({"qlQuery": "objectType = \"Entra User\""});
    for _ in 0..500 {
        let (status, body) = ws.post("/object/aql/totalcount", count.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let r = raw(
        &ws,
        Method::POST,
        "/object/aql/totalcount",
        Some(count.clone()),
    )
    .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&r, "retry-after")
        .unwrap_or_default()
        .parse()
        .expect("integer seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(header(&r, "x-ratelimit-reset").is_some());
    assert_eq!(header(&r, "x-ratelimit-limit"), Some("500"));
    assert!(
        header(&r, "ratelimit-reason").is_none(),
        "a Jira-only header"
    );
    assert!(r.json::<Value>().await.unwrap()["errorMessages"][0].is_string());

    let (status, _) = ws.post("/object/aql", count.clone()).await;
    assert_eq!(status, StatusCode::OK, "AQL has its own 1000/min bucket");
    assert_eq!(ws.get("/objectschema/list").await.0, StatusCode::OK);
    let counts = ws.sandbox.handle.assets_requests();
    assert_eq!(
        counts["POST /object/aql/totalcount"],
        EndpointCount {
            requests: 501,
            throttled: 1
        }
    );
    assert_eq!(counts["POST /object/aql"].requests, 1);

    ws.sandbox.handle.advance_clock(time::Duration::seconds(60));
    assert_eq!(
        ws.post("/object/aql/totalcount", count).await.0,
        StatusCode::OK
    );
}

// api/atlassian.md §D.10 (JSDCLOUD-11605): Assets' 429s historically came without `Retry-After`
// or `X-RateLimit-*`. Limits are per API key: a bad credential gets 401, never 429; a latency
// fault delays the request but does not bypass the limits.
#[tokio::test]
async fn documented_limits_can_answer_a_bare_429() {
    let ws = Ws::start().await;
    ws.sandbox
        .handle
        .assets(|a| a.limits = Some(schema_list_limited(2).without_retry_after()));
    ws.sandbox
        .handle
        .add_fault(FaultRule::always(Server::Assets, Fault::Latency { ms: 1 }));
    for _ in 0..2 {
        assert_eq!(ws.get("/objectschema/list").await.0, StatusCode::OK);
    }
    let r = raw(&ws, Method::GET, "/objectschema/list", None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    for name in [
        "retry-after",
        "x-ratelimit-reset",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
    ] {
        assert!(header(&r, name).is_none(), "{name} on a bare 429");
    }
    let wrong = ws
        .http
        .get(format!("{}/objectschema/list", ws.base))
        .basic_auth(ADMIN_EMAIL, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let viewer = ws
        .http
        .get(format!("{}/objectschema/list", ws.base))
        .basic_auth(VIEWER_EMAIL, Some(VIEWER_API_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(
        viewer.status(),
        StatusCode::FORBIDDEN,
        "another key has its own bucket (and no Assets access)"
    );
}

// api/atlassian.md §D.10: `PUT /object/{id}` is not in the spec's list, so it gets the older
// per-endpoint default (1000/min; lowered here); the instance-wide total caps every endpoint.
#[tokio::test]
async fn updates_use_the_default_bucket_and_the_instance_total_caps_everything() {
    let ws = Ws::start().await;
    let (tid, ids) = user_type(&ws).await;
    let (status, created) = ws
        .post(
            "/object/create",
            object(&tid, &ids, &[("Name", "Adele Vance")]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let update = object(&tid, &ids, &[("Employee Number", "42")]);
    let mut limits = AssetsLimits::documented();
    assert_eq!(limits.budget("PUT /object/{id}"), 1000);
    limits.default_per_minute = 2;
    ws.sandbox
        .handle
        .assets(|a| a.limits = Some(limits.clone()));
    for _ in 0..2 {
        let (status, body) = ws
            .call(Method::PUT, &format!("/object/{id}"), Some(update.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let r = raw(&ws, Method::PUT, &format!("/object/{id}"), Some(update)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "x-ratelimit-limit"), Some("2"));
    assert_eq!(
        ws.get(&format!("/object/{id}")).await.0,
        StatusCode::OK,
        "GET /object/{{id}} has its own 2000/min bucket"
    );

    ws.sandbox.handle.advance_clock(time::Duration::seconds(60));
    limits.default_per_minute = 1000;
    limits.instance_per_minute = 3;
    ws.sandbox.handle.assets(|a| a.limits = Some(limits));
    assert_eq!(ws.get(&format!("/object/{id}")).await.0, StatusCode::OK);
    assert_eq!(ws.get("/objectschema/list").await.0, StatusCode::OK);
    assert_eq!(
        ws.get(&format!("/objecttype/{tid}/attributes")).await.0,
        StatusCode::OK
    );
    let r = raw(&ws, Method::GET, "/icon/global", None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "x-ratelimit-limit"), Some("3"));

    let counts = ws.sandbox.handle.assets_requests();
    assert_eq!(
        counts["PUT /object/{id}"],
        EndpointCount {
            requests: 3,
            throttled: 1
        }
    );
    assert_eq!(counts["POST /object/create"].requests, 1);
    assert_eq!(counts["GET /object/{id}"].requests, 2);
}

// api/atlassian.md §D.10 at `SandboxOptions::time_scale` 20 (benchmarks): a per-minute bucket
// refills every 3 s of sandbox time and `Retry-After` says so; the options reach the world.
#[tokio::test]
async fn time_scale_shrinks_the_minute() {
    let sandbox = Sandbox::start(SandboxOptions {
        time_scale: 20.0,
        latency: LatencyProfile::realistic(),
        assets_limits: Some(AssetsLimits::documented()),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    assert_eq!(sandbox.handle.world().time_scale(), 20.0);
    assert_eq!(
        sandbox.handle.assets(|a| a.limits.clone()),
        Some(AssetsLimits::documented())
    );
    drop(sandbox);
    assert!(Sandbox::start(SandboxOptions {
        time_scale: 0.0,
        ..SandboxOptions::default()
    })
    .await
    .is_err());

    let ws = Ws::start().await;
    ws.sandbox.handle.set_time_scale(20.0);
    ws.sandbox
        .handle
        .assets(|a| a.limits = Some(schema_list_limited(2)));
    for _ in 0..2 {
        assert_eq!(ws.get("/objectschema/list").await.0, StatusCode::OK);
    }
    let r = raw(&ws, Method::GET, "/objectschema/list", None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The whole minute is left: the real service's "60", scaled to 3 s.
    assert_eq!(header(&r, "retry-after"), Some("3"));
    ws.sandbox.handle.advance_clock(time::Duration::seconds(2));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Under half a second left = under 10 real seconds: the real service's whole seconds
    // ("10", or "9" if this test was slow) scaled to 0.5 s / 0.45 s, not rounded up to a whole
    // second (which would make a scaled benchmark wait twice what the real run would).
    let r = raw(&ws, Method::GET, "/objectschema/list", None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: f64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!(retry > 0.0 && retry <= 0.5, "{retry}");
    let real = retry * 20.0;
    assert!(
        (real - real.round()).abs() < 1e-9,
        "{retry} is not whole real seconds"
    );
    tokio::time::sleep(std::time::Duration::from_secs_f64(retry)).await;
    assert_eq!(ws.get("/objectschema/list").await.0, StatusCode::OK);
}
