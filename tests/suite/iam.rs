//! AWS's IAM, which the DynamoDB test server does not enforce: every
//! function's real binary is booted as in `lambda_boot`, on a table seeded
//! with real objects so that each sample event reaches its writes, and talks
//! to DynamoDB through a recording proxy of its own. Each call is turned into
//! the IAM actions and resources AWS checks (a transaction's items one by
//! one, a Query on an index as that index), and every one must be granted by
//! the function's policy in `infra/template.yaml`: a call outside it would be
//! AccessDenied on AWS, a 500 for the user.
//!
//! Why recorded and compared, not enforced by an emulator: moto's IAM
//! enforcement needs IAM users and policies created through its own API and
//! reads SAM's policy shapes not at all, while the template is what deploys;
//! parsing it here checks the very statements AWS will load.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use serde_norway::Value as Yaml;

use crate::lambda_boot::{StandIns, boot, sample_events, template};

/// An IAM action on a resource of the table: `("dynamodb:Query", "index/GSI1")`.
type Grant = (String, String);

/// The IAM actions and resources one DynamoDB call needs.
fn needs(target: &str, body: &Value) -> Vec<Grant> {
    let operation = target.rsplit('.').next().unwrap_or(target);
    let on = |action: &str, resource: &str| ("dynamodb:".to_owned() + action, resource.to_owned());
    match operation {
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let action = match item.as_object()?.keys().next()?.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    other => panic!("an unknown transaction item {other}"),
                };
                Some(on(action, "table"))
            })
            .collect(),
        "TransactGetItems" => vec![on("GetItem", "table")],
        "Query" | "Scan" => {
            let resource = body["IndexName"]
                .as_str()
                .map_or("table".to_owned(), |index| format!("index/{index}"));
            vec![on(operation, &resource)]
        }
        // The data version item, which two functions may read and no other.
        "GetItem" if body["Key"]["PK"]["S"].as_str() == Some(store::keys::DATA_VERSION_PK) => {
            vec![on(
                "GetItem",
                &format!("table#{}", store::keys::DATA_VERSION_PK),
            )]
        }
        other => vec![on(other, "table")],
    }
}

/// A proxy in front of the DynamoDB test server that records what each call
/// needs, for one function.
async fn recording_proxy() -> (String, Arc<Mutex<BTreeSet<Grant>>>) {
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let record = Arc::clone(&seen);
    let url = crate::dynamodb_proxy::start(move |target, body| {
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        record
            .lock()
            .expect("not poisoned")
            .extend(needs(target, &json));
        None
    })
    .await;
    (url, seen)
}

/// What a function's policies in the template grant on the table.
fn granted(template: &Yaml, binary: &str) -> BTreeSet<Grant> {
    let function = crate::lambda_boot::function_resource(template, binary);
    let list = |value: &Yaml| -> Vec<Yaml> {
        match value {
            Yaml::Sequence(items) => items.clone(),
            Yaml::Null => vec![],
            one => vec![one.clone()],
        }
    };
    let mut grants = BTreeSet::new();
    for policy in list(&function["Properties"]["Policies"]) {
        assert!(
            !policy["Statement"].is_null(),
            "{binary}: a policy this test does not read ({policy:?}): write it as a Statement"
        );
        for statement in list(&policy["Statement"]) {
            if statement["Effect"].as_str() != Some("Allow") {
                continue;
            }
            // A statement limited to items whose partition key is one of
            // `dynamodb:LeadingKeys` grants on those items only.
            let leading_keys =
                list(&statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]);
            let table_resources: Vec<String> = list(&statement["Resource"])
                .iter()
                .filter_map(table_resource)
                .flat_map(|resource| {
                    if leading_keys.is_empty() {
                        return vec![resource];
                    }
                    leading_keys
                        .iter()
                        .map(|key| format!("{resource}#{}", key.as_str().expect("a key")))
                        .collect()
                })
                .collect();
            for action in list(&statement["Action"]) {
                let action = action.as_str().expect("an action").to_owned();
                if action.starts_with("dynamodb:") {
                    for resource in &table_resources {
                        grants.insert((action.clone(), resource.clone()));
                    }
                }
            }
        }
    }
    grants
}

/// A statement's resource as a resource of the table: `table`, `index/GSI4`,
/// `index/*`; `None` for anything else (a topic, a stream).
fn table_resource(resource: &Yaml) -> Option<String> {
    let Yaml::Tagged(tagged) = resource else {
        return None;
    };
    let tag = tagged.tag.to_string();
    match (tag.trim_start_matches('!'), &tagged.value) {
        ("GetAtt", Yaml::String(attribute)) if attribute == "Table.Arn" => Some("table".into()),
        ("Sub", Yaml::String(text)) => text.strip_prefix("${Table.Arn}/").map(str::to_owned),
        _ => None,
    }
}

fn allows(grants: &BTreeSet<Grant>, (action, resource): &Grant) -> bool {
    grants.contains(&(action.clone(), resource.clone()))
        || (resource.starts_with("table#") && grants.contains(&(action.clone(), "table".into())))
        || (resource.starts_with("index/")
            && grants.contains(&(action.clone(), "index/*".to_owned())))
}

/// The objects the sample events are pointed at, made through the handlers
/// on the test's table, so that each event reaches its writes.
struct Seeded {
    /// The sample events' ids, by what replaces them (per event, see `ids_for`).
    application: String,
    archived_application: String,
    arx: String,
    deleted_arx: String,
    key: String,
    deleted_key: String,
    rotated_key: String,
    limited_access_key: String,
    /// Reported leaked by a signed report: the leak response disables it.
    leaked_access_key: String,
    service_key: String,
    service_key_secret: String,
}

async fn seed(stand_ins: &StandIns) -> Seeded {
    let store = store::DynamoStore::local(&stand_ins.dynamodb, stand_ins.table.clone());
    let (state, demo) = crate::http_api::helpers::state_on(store).await;
    let call = |route: api::Route, id: Option<&str>, body: Value| {
        let state = Arc::clone(&state);
        let tenant = demo.tenant.clone();
        let id = id.map(str::to_owned);
        async move {
            let answer = api::dispatch(
                state,
                route,
                api::ApiRequest {
                    identity: api::Identity {
                        tenant,
                        user: domain::UserId::parse("demo-platform_owner").expect("valid"),
                        role: domain::Role::PlatformOwner,
                    },
                    id,
                    query: vec![],
                    body: body.to_string().into(),
                    idempotency_key: None,
                    media: Default::default(),
                },
            )
            .await;
            assert!(answer.status < 300, "{route:?}: {}", answer.status);
            serde_json::from_slice::<Value>(&answer.body).expect("JSON")
        }
    };
    let application = demo.application_id.to_string();
    let arx = demo.arx_id.to_string();
    let archived_application = call(
        api::Route::CreateApplication,
        None,
        json!({"name": "to archive", "technology": "server"}),
    )
    .await["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let deleted_arx = call(
        api::Route::CreateArx,
        None,
        json!({"name": "to delete", "purpose": "testing", "provider": "aws", "region": "eu-west-1",
            "encryption_method": "AES-GCM-256", "rotation_cycle": "90 days", "plan": "pro"}),
    )
    .await["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let key = |application: &str, arx: &str, more: Value| {
        let mut body = json!({"application_id": application, "arx_id": arx});
        if let (Some(body), Some(more)) = (body.as_object_mut(), more.as_object()) {
            body.extend(more.clone());
        }
        call(api::Route::CreateApiKey, None, body)
    };
    let id_of = |created: &Value| created["api_key"]["id"].as_str().expect("an id").to_owned();
    let limited = key(
        &application,
        &arx,
        json!({"limits": {"credits": {"remaining": 100}}}),
    )
    .await;
    // Keys on the application the stream event archives and the Arx deleted:
    // the cascade and the delete have keys to end.
    key(&archived_application, &arx, json!({})).await;
    key(&application, &deleted_arx, json!({})).await;
    let service_key = call(
        api::Route::CreateServiceKey,
        None,
        json!({"name": "to revoke", "role": "verifier"}),
    )
    .await;
    let authorizing = call(
        api::Route::CreateServiceKey,
        None,
        json!({"name": "signs in", "role": "developer"}),
    )
    .await;
    let leaked = key(&application, &arx, json!({})).await;
    // The namespace the rate-limit events check in.
    call(
        api::Route::CreateRateLimitNamespace,
        None,
        json!({"name": "login", "limit": 5, "duration": 60}),
    )
    .await;
    Seeded {
        leaked_access_key: leaked["access_key"].as_str().expect("a key").to_owned(),
        key: id_of(&key(&application, &arx, json!({})).await),
        deleted_key: id_of(&key(&application, &arx, json!({})).await),
        rotated_key: id_of(&key(&application, &arx, json!({})).await),
        limited_access_key: limited["access_key"].as_str().expect("a key").to_owned(),
        service_key: service_key["service_key"]["id"]
            .as_str()
            .expect("an id")
            .to_owned(),
        service_key_secret: authorizing["secret"].as_str().expect("a secret").to_owned(),
        application,
        archived_application,
        arx,
        deleted_arx,
    }
}

/// The placeholders every sample event uses, and what they become here.
const EVENT_ACCESS_KEY: &str =
    "akm_01a21762051c77b49ff756e5dfbff46f_ExampleNotARealKeyExampleNotARea000000";
const EVENT_KEY: &str = "apikey--01a21762051c77b49ff756e5dfbff46f";
const EVENT_APPLICATION: &str = "app--01a21761fd6b7156a0c019ab14c9ae86";
const EVENT_ARX: &str = "arx--01a21761fd6b7156a0c019adb07cd192";
const EVENT_SERVICE_KEY: &str = "svckey--0193b2f4c1d87a6e9f0a1b2c3d4e5f60";

/// `event` pointed at the seeded objects: each event that ends something
/// ends an object of its own, so the others still find theirs.
fn pointed_at(name: &str, event: &Value, seeded: &Seeded) -> Value {
    let key = match name {
        "delete-api-key.json" => &seeded.deleted_key,
        "rotate-api-key.json" => &seeded.rotated_key,
        _ => &seeded.key,
    };
    let application = match name {
        "archive-application.json" | "stream-application-archived.json" => {
            &seeded.archived_application
        }
        _ => &seeded.application,
    };
    let arx = match name {
        "delete-arx.json" => &seeded.deleted_arx,
        _ => &seeded.arx,
    };
    let text = event
        .to_string()
        .replace(EVENT_ACCESS_KEY, &seeded.limited_access_key)
        .replace(EVENT_KEY, key)
        .replace(EVENT_APPLICATION, application)
        .replace(EVENT_ARX, arx)
        .replace(EVENT_SERVICE_KEY, &seeded.service_key);
    let mut event: Value = serde_json::from_str(&text).expect("JSON");
    if name == "leak-report.json" {
        // Signed by the key the stand-in keys document publishes, as GitHub
        // signs: the report is read, and the leaked key disabled.
        let body =
            json!([{"token": seeded.leaked_access_key, "type": "api_keys_manager_access_key",
            "url": "https://github.com/octo/demo/blob/0a1b2c/.env", "source": "content"}])
            .to_string();
        let signature = crate::http_api::helpers::github_signature(body.as_bytes());
        event["headers"]["github-public-key-identifier"] =
            json!(crate::http_api::helpers::GITHUB_KEY_ID);
        event["headers"]["github-public-key-signature"] = json!(signature);
        event["body"] = json!(body);
    }
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_functions_table_calls_are_granted_by_its_template_policy() {
    let template = template();
    let stand_ins = StandIns::start().await;
    let seeded = seed(&stand_ins).await;
    let mut events = sample_events(&template);
    // The authorizer also signs in a service key: a read and a write of its own.
    let mut with_service_key = events["authorizer"][0].1.clone();
    let bearer = format!("Bearer {}", seeded.service_key_secret);
    with_service_key["headers"]["authorization"] = json!(bearer);
    with_service_key["identitySource"][0] = json!(bearer);
    events
        .get_mut("authorizer")
        .expect("the authorizer's events")
        .push(("authorizer-service-key.json".into(), with_service_key));

    let mut refused = BTreeMap::new();
    let mut used = BTreeMap::new();
    for (binary, events) in &events {
        let (proxy, seen) = recording_proxy().await;
        let mut environment = stand_ins.function_environment(&template, binary);
        environment.insert("DYNAMODB_ENDPOINT".into(), proxy);
        let payloads = events
            .iter()
            .map(|(name, event)| pointed_at(name, event, &seeded))
            .collect();
        let run = boot(binary, environment, payloads).await;
        assert_eq!(run.init_error, None, "{binary} failed to start");
        assert_eq!(run.errors, 0, "{binary} reported invocation errors");
        for ((name, _), answer) in events.iter().zip(&run.answers) {
            let answer = answer
                .as_ref()
                .unwrap_or_else(|| panic!("{binary} never answered {name}"));
            if let Some(status) = answer["statusCode"].as_u64() {
                assert!(status < 500, "{binary} answered {name} {status}: {answer}");
            }
        }
        let grants = granted(&template, binary);
        let seen = seen.lock().expect("not poisoned").clone();
        let outside: Vec<Grant> = seen
            .iter()
            .filter(|need| !allows(&grants, need))
            .cloned()
            .collect();
        if !outside.is_empty() {
            refused.insert(binary.clone(), outside);
        }
        used.insert(binary.clone(), seen);
    }
    assert!(
        refused.is_empty(),
        "calls AWS would refuse (AccessDenied): {refused:#?}\n(what each function used: {used:#?})"
    );
    // The events reach the writes this test is for: without them it would
    // pass by calling nothing.
    for (binary, action) in [
        ("service-keys", "dynamodb:UpdateItem"),
        ("change-api-key", "dynamodb:UpdateItem"),
        ("verify-key", "dynamodb:UpdateItem"),
        ("cleanup", "dynamodb:UpdateItem"),
        ("authorizer", "dynamodb:GetItem"),
        ("create-api-key", "dynamodb:PutItem"),
        ("identities", "dynamodb:PutItem"),
        ("roles", "dynamodb:PutItem"),
        ("ratelimit", "dynamodb:UpdateItem"),
        ("ratelimit-namespaces", "dynamodb:PutItem"),
        ("leak-report", "dynamodb:UpdateItem"),
    ] {
        assert!(
            used[binary].iter().any(|(used, _)| used == action),
            "{binary} never called {action}: the events no longer reach its writes ({:?})",
            used[binary]
        );
    }
}
