//! Measures Graph delta rounds over the Large directory over HTTP, as Entra Sync reads them:
//! `users/delta` with `manager`, `groups/delta` with `members@delta`, a full round each, then
//! an incremental round after N directory mutations. Per-page times show whether serving a page
//! stays flat as the round goes on:
//! `cargo run --release -p crosswalk-sandbox --example graph_delta_scale [-- MUTATIONS]`.

use crosswalk_sandbox::identity::{CLIENT_ID, CLIENT_SECRET, TENANT_ID};
use crosswalk_sandbox::{Sandbox, SandboxOptions, Size};
use serde_json::Value;
use std::time::{Duration, Instant};

const USER_SELECT: &str = "id,userPrincipalName,displayName,givenName,surname,mail,jobTitle,department,officeLocation,city,country,employeeId,accountEnabled,userType,createdDateTime,manager";
const GROUP_SELECT: &str =
    "id,displayName,description,mail,mailEnabled,securityEnabled,groupTypes,membershipRule,members";

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Round {
    pages: usize,
    items: usize,
    members: usize,
    took: Duration,
    page_times: Vec<Duration>,
    delta_link: String,
}

async fn round(http: &reqwest::Client, token: &str, first: String) -> Round {
    let started = Instant::now();
    let mut url = first;
    let mut r = Round {
        pages: 0,
        items: 0,
        members: 0,
        took: Duration::ZERO,
        page_times: Vec::new(),
        delta_link: String::new(),
    };
    loop {
        let page_started = Instant::now();
        let response = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("delta page");
        assert!(response.status().is_success(), "{}", response.status());
        let page: Value = response.json().await.expect("delta body");
        r.page_times.push(page_started.elapsed());
        r.pages += 1;
        let values = page["value"].as_array().cloned().unwrap_or_default();
        r.items += values.len();
        r.members += values
            .iter()
            .filter_map(|v| v["members@delta"].as_array())
            .map(Vec::len)
            .sum::<usize>();
        if let Some(next) = page["@odata.nextLink"].as_str() {
            url = next.to_owned();
        } else {
            r.delta_link = page["@odata.deltaLink"]
                .as_str()
                .expect("a delta link")
                .to_owned();
            break;
        }
    }
    r.took = started.elapsed();
    r
}

fn report(name: &str, r: &Round) {
    let tenth = (r.page_times.len() / 10).max(1);
    let avg = |times: &[Duration]| times.iter().sum::<Duration>() / times.len().max(1) as u32;
    println!(
        "{name}: {} pages, {} entries, {} members@delta, {:.2?} ({:.0} entries/s); page avg first 10% {:.2?}, last 10% {:.2?}; peak RSS {:.0} MB",
        r.pages,
        r.items,
        r.members,
        r.took,
        r.items as f64 / r.took.as_secs_f64(),
        avg(&r.page_times[..tenth]),
        avg(&r.page_times[r.page_times.len() - tenth..]),
        peak_rss_mb()
    );
}

#[tokio::main]
async fn main() {
    let mutations: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let started = Instant::now();
    let sandbox = Sandbox::start(SandboxOptions {
        size: Size::Large,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    println!(
        "Large sandbox up in {:.2?}, peak RSS {:.0} MB",
        started.elapsed(),
        peak_rss_mb()
    );
    let http = reqwest::Client::new();
    let graph = sandbox.urls.graph.as_str().trim_end_matches('/').to_owned();
    let login = sandbox.urls.login.as_str().trim_end_matches('/').to_owned();
    let scope = format!("{graph}/.default");
    let token: Value = http
        .post(format!("{login}/{TENANT_ID}/oauth2/v2.0/token"))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token body");
    let token = token["access_token"].as_str().expect("a token").to_owned();

    let users = round(
        &http,
        &token,
        format!("{graph}/v1.0/users/delta?$select={USER_SELECT}"),
    )
    .await;
    report("users/delta (full)", &users);
    let groups = round(
        &http,
        &token,
        format!("{graph}/v1.0/groups/delta?$select={GROUP_SELECT}"),
    )
    .await;
    report("groups/delta (full)", &groups);

    let mutate_started = Instant::now();
    let applied = sandbox
        .handle
        .graph(|g| g.directory.mutate(7, mutations).len());
    println!(
        "{applied} directory mutations in {:.2?}",
        mutate_started.elapsed()
    );
    let users = round(&http, &token, users.delta_link).await;
    report("users/delta (incremental)", &users);
    let groups = round(&http, &token, groups.delta_link).await;
    report("groups/delta (incremental)", &groups);
}
