//! Measures the Assets server at Entra Sync scale over HTTP: a schema, an object type with a
//! unique text attribute and a reference attribute, N objects created one `POST /object/create`
//! at a time (each referencing an earlier one), unique-attribute AQL lookups, a deep
//! `objectTypeId = N` page, updates and deletes:
//! `cargo run --release -p crosswalk-sandbox --example assets_scale [-- OBJECTS [LOOKUPS]]`
//! (defaults 300000 and 1000; lookups run at 10k, 100k, 300k and at the end).

use crosswalk_sandbox::jira::{ADMIN_API_TOKEN, ADMIN_EMAIL};
use crosswalk_sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

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

/// Process CPU time (user + system) so far: the client and the server share the process.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the command: state is field 0, utime 11, stime 12 (clock ticks, 100 per second).
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .basic_auth(ADMIN_EMAIL, Some(ADMIN_API_TOKEN));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {value}");
        value
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

fn ext_id(i: usize) -> String {
    format!(
        "{:08x}-7d3c-4a4e-9c1b-{:012x}",
        i.wrapping_mul(2_654_435_761),
        i
    )
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let objects: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let lookups: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);

    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("sandbox");
    let http = reqwest::Client::new();
    let discovery: Value = http
        .get(format!(
            "{}rest/servicedeskapi/assets/workspace",
            sandbox.urls.jira
        ))
        .basic_auth(ADMIN_EMAIL, Some(ADMIN_API_TOKEN))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("discovery body");
    let workspace = discovery["values"][0]["workspaceId"]
        .as_str()
        .expect("workspace")
        .to_owned();
    let c = Client {
        http,
        base: format!("{}jsm/assets/workspace/{workspace}/v1", sandbox.urls.assets),
    };

    let schema = id(&c
        .post(
            "/objectschema/create",
            json!({"name": "Scale", "objectSchemaKey": "SCALE"}),
        )
        .await);
    let type_id = id(&c
        .post(
            "/objecttype/create",
            json!({"name": "Item", "iconId": "1", "objectSchemaId": schema}),
        )
        .await);
    let ext = id(&c
        .post(
            &format!("/objecttypeattribute/{type_id}"),
            json!({"name": "Ext ID", "type": 0, "defaultTypeId": 0, "uniqueAttribute": true}),
        )
        .await);
    let parent = id(&c
        .post(
            &format!("/objecttypeattribute/{type_id}"),
            json!({"name": "Parent", "type": 1, "typeValue": type_id, "additionalValue": "1"}),
        )
        .await);
    let attributes: Vec<Value> = c
        .call(
            reqwest::Method::GET,
            &format!("/objecttype/{type_id}/attributes"),
            None,
        )
        .await
        .as_array()
        .expect("attributes")
        .clone();
    let name = attributes
        .iter()
        .find(|a| a["name"] == "Name")
        .map(id)
        .expect("Name");

    println!("creating {objects} objects, {lookups} lookups per checkpoint");
    let checkpoints = [10_000usize, 100_000, 300_000];
    let started = Instant::now();
    let cpu_started = cpu_time();
    let mut segment = (Instant::now(), 0usize);
    let mut ids: Vec<String> = Vec::with_capacity(objects);
    for i in 0..objects {
        let mut attributes = vec![
            json!({"objectTypeAttributeId": name, "objectAttributeValues": [{"value": format!("Item {i}")}]}),
            json!({"objectTypeAttributeId": ext, "objectAttributeValues": [{"value": ext_id(i)}]}),
        ];
        if i > 0 {
            let target = &ids[((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as usize % i];
            attributes.push(json!({"objectTypeAttributeId": parent, "objectAttributeValues": [{"value": target}]}));
        }
        let created = c
            .post(
                "/object/create",
                json!({"objectTypeId": type_id, "attributes": attributes}),
            )
            .await;
        ids.push(id(&created));
        let done = i + 1;
        if checkpoints.contains(&done) || done == objects {
            let elapsed = segment.0.elapsed();
            println!(
                "{done:>7} objects: {:>8.2?} total, last {} at {:>6.0} objects/s, CPU {:.1?}, peak RSS {:.0} MB",
                started.elapsed(),
                done - segment.1,
                (done - segment.1) as f64 / elapsed.as_secs_f64(),
                cpu_time() - cpu_started,
                peak_rss_mb()
            );
            let lookup_started = Instant::now();
            for k in 0..lookups {
                let i = (k * 104_729) % done;
                let found = c
                    .post(
                        "/object/aql?maxResults=25&includeAttributes=false",
                        json!({"qlQuery": format!("objectTypeId = {type_id} AND \"Ext ID\" = \"{}\"", ext_id(i))}),
                    )
                    .await;
                assert_eq!(found["values"][0]["id"], ids[i].as_str(), "lookup {i}");
            }
            let elapsed = lookup_started.elapsed();
            println!(
                "         {lookups} unique-attribute AQL lookups: {elapsed:>8.2?} ({:.0} lookups/s)",
                lookups as f64 / elapsed.as_secs_f64()
            );
            segment = (Instant::now(), done);
        }
    }

    let page_started = Instant::now();
    let start = objects.saturating_sub(1000);
    let page = c
        .post(
            &format!("/object/aql?startAt={start}&maxResults=1000&includeAttributes=true"),
            json!({"qlQuery": format!("objectTypeId = {type_id}")}),
        )
        .await;
    println!(
        "deep page of objectTypeId = {type_id} (startAt {start}, 1000 with attributes, total {}, {} KB): {:.2?}",
        page["total"],
        page.to_string().len() / 1024,
        page_started.elapsed()
    );
    let page_started = Instant::now();
    let page = c
        .post(
            &format!("/object/aql?startAt={start}&maxResults=1000&includeAttributes=false"),
            json!({"qlQuery": format!("objectTypeId = {type_id}")}),
        )
        .await;
    println!(
        "the same page without attributes ({} KB): {:.2?}",
        page.to_string().len() / 1024,
        page_started.elapsed()
    );

    let updates = 1_000.min(objects);
    let update_started = Instant::now();
    for k in 0..updates {
        let i = (k * 104_729) % objects;
        c.call(
            reqwest::Method::PUT,
            &format!("/object/{}", ids[i]),
            Some(json!({"objectTypeId": type_id, "attributes": [
                {"objectTypeAttributeId": name, "objectAttributeValues": [{"value": format!("Item {i} renamed")}]}
            ]})),
        )
        .await;
    }
    let elapsed = update_started.elapsed();
    println!(
        "{updates} updates: {elapsed:.2?} ({:.0} updates/s)",
        updates as f64 / elapsed.as_secs_f64()
    );

    let deletes = 1_000.min(objects);
    let delete_started = Instant::now();
    for k in 0..deletes {
        let i = objects - 1 - k;
        let response = c
            .http
            .delete(format!("{}/object/{}", c.base, ids[i]))
            .basic_auth(ADMIN_EMAIL, Some(ADMIN_API_TOKEN))
            .send()
            .await
            .expect("delete sent");
        assert!(response.status().is_success(), "delete {i}");
    }
    let elapsed = delete_started.elapsed();
    println!(
        "{deletes} deletes: {elapsed:.2?} ({:.0} deletes/s)",
        deletes as f64 / elapsed.as_secs_f64()
    );
    println!(
        "total {:.2?}, CPU {:.1?}, peak RSS {:.0} MB",
        started.elapsed(),
        cpu_time() - cpu_started,
        peak_rss_mb()
    );
}
