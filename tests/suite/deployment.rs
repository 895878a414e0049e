//! The SAM template and the sample events agree with the code: every function
//! is a workspace binary and the reverse, every route is served by the function
//! the code says, and no policy reaches beyond the stack's table or scans it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use api::Route;
use serde_norway::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Value {
    let text =
        std::fs::read_to_string(workspace().join("infra/template.yaml")).expect("the template");
    serde_norway::from_str(&text).expect("the template is YAML")
}

/// The Lambda binaries of the workspace: every crate under `functions/` except
/// the dev server, which is never deployed.
fn lambda_binaries() -> BTreeSet<String> {
    std::fs::read_dir(workspace().join("functions"))
        .expect("functions/")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name != "dev-server")
        .collect()
}

/// `(logical id, properties, binary)` of every function in the template.
fn functions(template: &Value) -> Vec<(String, Value, String)> {
    let resources = template["Resources"].as_mapping().expect("Resources");
    resources
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::Serverless::Function")
        .map(|(id, resource)| {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .expect("a Binary")
                .to_owned();
            assert_eq!(
                resource["Metadata"]["BuildMethod"], "rust-cargolambda",
                "{binary}"
            );
            (
                id.as_str().expect("an id").to_owned(),
                resource["Properties"].clone(),
                binary,
            )
        })
        .collect()
}

/// A tagged scalar or sequence (`!GetAtt Table.Arn`, `!Sub "..."`) as text.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Tagged(tagged) => format!("{} {}", tagged.tag, text_of(&tagged.value)),
        Value::Sequence(items) => items.iter().map(text_of).collect::<Vec<_>>().join(" "),
        other => format!("{other:?}"),
    }
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Sequence(items) => items.clone(),
        Value::Null => Vec::new(),
        single => vec![single.clone()],
    }
}

#[test]
fn every_function_is_a_workspace_binary_and_the_reverse() {
    let template = template();
    let deployed: BTreeSet<String> = functions(&template)
        .into_iter()
        .map(|(_, _, binary)| binary)
        .collect();
    assert_eq!(deployed, lambda_binaries());
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(
        as_list(&globals["Architectures"]),
        vec![Value::from("arm64")]
    );
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    for (id, properties, _) in functions(&template) {
        assert_eq!(
            properties["CodeUri"], "..",
            "{id} builds from the workspace root"
        );
    }
}

#[test]
fn every_route_is_served_by_the_function_the_code_names() {
    let template = template();
    let mut served = BTreeMap::new();
    for (_, properties, binary) in functions(&template) {
        let events = properties["Events"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        for (_, event) in events {
            if event["Type"] != "HttpApi" {
                continue;
            }
            let key = format!(
                "{} {}",
                event["Properties"]["Method"].as_str().expect("a method"),
                event["Properties"]["Path"].as_str().expect("a path")
            );
            // Only GitHub's signed reports go without the JWT authorizer.
            let unauthenticated = event["Properties"]["Auth"]["Authorizer"] == "NONE";
            assert_eq!(
                unauthenticated,
                binary == api::leak_reports::FUNCTION,
                "{key}: its authorizer"
            );
            assert!(
                served.insert(key.clone(), binary.clone()).is_none(),
                "{key} twice"
            );
        }
    }
    let expected: BTreeMap<String, String> = Route::ALL
        .into_iter()
        .map(|route| (route.route_key(), route.function().to_owned()))
        .chain([(
            format!("POST {}", api::leak_reports::PATH),
            api::leak_reports::FUNCTION.to_owned(),
        )])
        .collect();
    assert_eq!(
        served, expected,
        "the template's routes are the dev server's routes"
    );

    let authorizer =
        &template["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]["TokenAuthorizer"];
    assert_eq!(
        as_list(&authorizer["Identity"]["Context"]),
        vec![Value::from("routeKey")],
        "cached per route"
    );
    assert_eq!(authorizer["EnableSimpleResponses"], true);
    assert_eq!(authorizer["AuthorizerPayloadFormatVersion"], "2.0");
    // The whole cache key: the token and the route, nothing less.
    assert_eq!(
        as_list(&authorizer["Identity"]["Headers"]),
        vec![Value::from("Authorization")],
        "cached per token"
    );
    assert_eq!(
        text_of(&authorizer["Identity"]["ReauthorizeEvery"]),
        "!Ref AuthorizerCacheSeconds"
    );
    // A cached allow outlives a demotion by at most this: a minute.
    let cache = &template["Parameters"]["AuthorizerCacheSeconds"];
    assert!(
        cache["Default"].as_u64().is_some_and(|s| s <= 60),
        "{cache:?}"
    );
    assert!(
        cache["MaxValue"].as_u64().is_some_and(|s| s <= 300),
        "{cache:?}"
    );
}

#[test]
fn users_cannot_write_their_own_tenant_or_role() {
    let template = template();
    let client = &template["Resources"]["UserPoolClient"]["Properties"];
    let writable: Vec<String> = as_list(&client["WriteAttributes"])
        .iter()
        .map(text_of)
        .collect();
    assert!(
        !writable.is_empty(),
        "WriteAttributes must be set: Cognito's default is all"
    );
    for claim in ["custom:tenant_id", "custom:role"] {
        assert!(
            !writable.iter().any(|a| a == claim),
            "{claim} is writable: {writable:?}"
        );
    }
    let readable: Vec<String> = as_list(&client["ReadAttributes"])
        .iter()
        .map(text_of)
        .collect();
    for claim in ["custom:tenant_id", "custom:role"] {
        assert!(
            readable.iter().any(|a| a == claim),
            "{claim} must reach the ID token"
        );
    }
}

#[test]
fn policies_reach_only_this_stacks_table_and_never_scan() {
    let template = template();
    for (id, properties, binary) in functions(&template) {
        for policy in as_list(&properties["Policies"]) {
            for statement in as_list(&policy["Statement"]) {
                let actions: Vec<String> =
                    as_list(&statement["Action"]).iter().map(text_of).collect();
                let dynamodb: Vec<&String> = actions
                    .iter()
                    .filter(|a| a.starts_with("dynamodb:"))
                    .collect();
                assert!(
                    !actions.iter().any(|a| a.contains('*')),
                    "{id}: no wildcard actions: {actions:?}"
                );
                assert!(
                    !dynamodb.iter().any(|a| a.as_str() == "dynamodb:Scan"),
                    "{id} may not Scan"
                );
                if dynamodb.is_empty() {
                    continue;
                }
                for resource in as_list(&statement["Resource"]).iter().map(text_of) {
                    let on_table = resource == "!GetAtt Table.Arn"
                        || resource.starts_with("!Sub ${Table.Arn}/index/GSI");
                    assert!(
                        on_table,
                        "{id} ({binary}) reaches beyond the stack's table: {resource}"
                    );
                }
            }
        }
        if binary == "list-api-keys" {
            let text = format!("{:?}", properties["Policies"]);
            for write in ["PutItem", "UpdateItem", "DeleteItem"] {
                assert!(
                    !text.contains(write),
                    "the read-only function may not {write}"
                );
            }
        }
    }
}

#[test]
fn each_topic_is_published_to_only_by_the_function_that_needs_it() {
    let template = template();
    let mut publishers = BTreeSet::new();
    for (id, properties, binary) in functions(&template) {
        for policy in as_list(&properties["Policies"]) {
            for statement in as_list(&policy["Statement"]) {
                let actions: Vec<String> =
                    as_list(&statement["Action"]).iter().map(text_of).collect();
                if !actions.iter().any(|a| a.starts_with("sns:")) {
                    continue;
                }
                assert_eq!(actions, ["sns:Publish"], "{id} may only publish");
                for resource in as_list(&statement["Resource"]) {
                    publishers.insert((binary.clone(), text_of(&resource)));
                }
            }
        }
    }
    let expected: BTreeSet<(String, String)> = [
        ("cleanup", "!Ref NotificationsTopic"),
        ("leak-report", "!Ref NotificationsTopic"),
        ("submit-feedback", "!Ref FeedbackTopic"),
    ]
    .into_iter()
    .map(|(binary, topic)| (binary.to_owned(), topic.to_owned()))
    .collect();
    assert_eq!(publishers, expected);
    let cleanup =
        &template["Resources"]["CleanupFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        text_of(&cleanup["NOTIFICATIONS_TOPIC_ARN"]),
        "!Ref NotificationsTopic",
        "the sweep publishes expiry notices to the stack's topic"
    );
    assert_eq!(
        text_of(&template["Outputs"]["NotificationsTopicArn"]["Value"]),
        "!Ref NotificationsTopic"
    );
}

#[test]
fn operators_hear_of_failures_and_failed_work_is_kept() {
    let template = template();
    let resources = &template["Resources"];
    // What an operator must hear about, as (metric, the resource it watches).
    let mut watched = BTreeSet::new();
    for (id, resource) in resources.as_mapping().expect("Resources") {
        let id = id.as_str().expect("an id");
        if resource["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let properties = &resource["Properties"];
        let actions: Vec<String> = as_list(&properties["AlarmActions"])
            .iter()
            .map(text_of)
            .collect();
        assert_eq!(actions, ["!Ref AlarmTopic"], "{id} tells the alarm topic");
        for dimension in as_list(&properties["Dimensions"]) {
            watched.insert((
                text_of(&properties["MetricName"]),
                text_of(&dimension["Value"]),
            ));
        }
    }
    for expected in [
        ("Errors", "!Ref CleanupFunction"),
        ("IteratorAge", "!Ref CleanupFunction"),
        (
            "ApproximateNumberOfMessagesVisible",
            "!GetAtt CleanupDeadLetters.QueueName",
        ),
        ("5xx", "!Ref HttpApi"),
        ("Errors", "!Ref AuthorizerFunction"),
        ("Throttles", "!Ref AuthorizerFunction"),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(watched.contains(&expected), "no alarm on {expected:?}");
    }
    assert!(
        resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"].is_null(),
        "CloudWatch cannot publish to a topic under the AWS-managed SNS key"
    );
    assert_eq!(
        text_of(&template["Outputs"]["AlarmTopicArn"]["Value"]),
        "!Ref AlarmTopic"
    );
    // A failed sweep (an asynchronous invocation) is kept, not dropped.
    let on_failure = &resources["CleanupFunction"]["Properties"]["EventInvokeConfig"]["DestinationConfig"]
        ["OnFailure"];
    assert_eq!(
        text_of(&on_failure["Destination"]),
        "!GetAtt CleanupDeadLetters.Arn"
    );
}

#[test]
fn sample_events_parse_into_what_their_functions_take() {
    let folder = workspace().join("infra/events");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(&folder).expect("infra/events") {
        let path = entry.expect("an entry").path();
        let text = std::fs::read_to_string(&path).expect("an event");
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        if name.starts_with("stream-") {
            let event: aws_lambda_events::event::dynamodb::Event =
                serde_json::from_value(json).expect("a stream event");
            let target = jobs::stream::cascade_target(&event.records[0]);
            assert!(matches!(target, Ok(Some(_))), "{name} asks for a cascade");
            continue;
        }
        if name == "schedule.json" {
            assert_eq!(
                json["detail-type"], "Scheduled Event",
                "what the cleanup function takes as the sweep"
            );
            continue;
        }
        if let Some(shape) = name.strip_prefix("key-authorizer-") {
            // What a team's API sends the key-authorizer: payload 2.0, or a
            // REST API REQUEST authorizer's event.
            match shape {
                "http.json" => {
                    let event: aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request =
                        serde_json::from_value(json).expect("an HTTP API authorizer event");
                    assert!(event.headers.contains_key("x-api-key"));
                }
                "rest.json" => {
                    let event: aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest =
                        serde_json::from_value(json).expect("a REST API REQUEST authorizer event");
                    assert!(event.method_arn.is_some());
                }
                other => panic!("unknown key-authorizer event {other}"),
            }
            continue;
        }
        if name == "console.json" {
            // The console's `$default` route: any path, no authorizer.
            lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(json["routeKey"], "$default");
            continue;
        }
        if name == "leak-report.json" {
            // GitHub's report: no authorizer, the signature in two headers.
            let request =
                lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                json["routeKey"],
                format!("POST {}", api::leak_reports::PATH)
            );
            assert!(
                request
                    .headers()
                    .contains_key("github-public-key-signature")
            );
            continue;
        }
        if name == "authorizer.json" {
            let event: aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request =
                serde_json::from_value(json).expect("an authorizer event");
            assert!(
                event
                    .route_key
                    .as_deref()
                    .and_then(Route::from_route_key)
                    .is_some()
            );
            continue;
        }
        lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let route = json["routeKey"].as_str().and_then(Route::from_route_key);
        routes.insert(
            route
                .unwrap_or_else(|| panic!("{name} names no route"))
                .route_key(),
        );
    }
    let all: BTreeSet<String> = Route::ALL.into_iter().map(Route::route_key).collect();
    assert_eq!(routes, all, "one sample event per route");
}

/// The console signs in where the stack says and nowhere else: the app
/// client's only callback and sign-out URL is the console's own address, the
/// flow is the authorization code (PKCE, no secret), the console's API
/// answers every path without the authorizer, and the API's CORS names the
/// console's origin rather than `*`.
#[test]
fn the_console_has_its_own_api_and_signs_in_only_back_to_it() {
    let template = template();
    let resources = &template["Resources"];
    let console_url = text_of(&template["Outputs"]["ConsoleUrl"]["Value"]);
    assert!(
        console_url.contains("${ConsoleApi}.execute-api"),
        "{console_url}"
    );
    let client = &resources["UserPoolClient"]["Properties"];
    for list in ["CallbackURLs", "LogoutURLs"] {
        let urls: Vec<String> = as_list(&client[list]).iter().map(text_of).collect();
        assert_eq!(urls, std::slice::from_ref(&console_url), "{list}");
    }
    assert_eq!(client["GenerateSecret"], Value::Bool(false));
    let flows: Vec<String> = as_list(&client["AllowedOAuthFlows"])
        .iter()
        .map(text_of)
        .collect();
    assert_eq!(flows, ["code"], "no implicit flow");

    let route = &resources["ConsoleRoute"]["Properties"];
    assert_eq!(route["RouteKey"], "$default");
    assert_eq!(
        route["AuthorizationType"],
        Value::Null,
        "the console's files need no token"
    );
    let integration = text_of(&resources["ConsoleIntegration"]["Properties"]["IntegrationUri"]);
    assert!(integration.contains("ConsoleFunction"), "{integration}");
    let console = &resources["ConsoleFunction"]["Properties"];
    assert_eq!(
        console["Policies"],
        Value::Null,
        "the console function calls nothing"
    );
    let env = &console["Environment"]["Variables"];
    assert!(text_of(&env["API_URL"]).contains("${HttpApi}"));
    assert!(text_of(&env["COGNITO_CLIENT_ID"]).contains("UserPoolClient"));

    let cors = text_of(&resources["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"]);
    assert!(cors.contains("${ConsoleApi}.execute-api"), "{cors}");
    assert!(!cors.contains('*'), "{cors}");
}

/// Another issuer without its keys or audience would refuse every token:
/// the template's `Rules` stop such a deploy before anything is created.
/// The table stays on the AWS-owned key (no KMS charges).
#[test]
fn an_external_issuer_needs_its_keys_and_audience() {
    let template = template();
    let rule = &template["Rules"]["ExternalIssuerIsComplete"];
    assert!(text_of(&rule["RuleCondition"]).contains("JwtIssuer"));
    let asserted: Vec<String> = as_list(&rule["Assertions"])
        .iter()
        .map(|assertion| text_of(&assertion["Assert"]))
        .collect();
    for parameter in ["JwksUrl", "JwtAudience"] {
        assert!(
            asserted.iter().any(|a| a.contains(parameter)),
            "{parameter} is not asserted: {asserted:?}"
        );
    }
    let sse = &template["Resources"]["Table"]["Properties"]["SSESpecification"];
    assert_eq!(sse["SSEEnabled"], Value::Bool(false));
    assert_eq!(sse["KMSMasterKeyId"], Value::Null);
}

/// The stack a team copies from docs/protect-your-api.md to attach the
/// key-authorizer: a request API Gateway answers from its authorizer cache is
/// neither charged nor counted, so the example's cache is off
/// (`ReauthorizeEvery: 0`), and the page says what raising it costs.
#[test]
fn the_key_authorizer_example_is_safe_for_limited_keys() {
    let page = std::fs::read_to_string(workspace().join("docs/protect-your-api.md"))
        .expect("docs/protect-your-api.md");
    let snippet = page
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the page's first YAML example");
    let stack: Value = serde_norway::from_str(snippet).expect("the example is YAML");
    let authorizer =
        &stack["Resources"]["OrdersApi"]["Properties"]["Auth"]["Authorizers"]["ApiKeys"];
    assert_eq!(
        authorizer["Identity"]["ReauthorizeEvery"].as_u64(),
        Some(0),
        "a cached decision lets a limited key through uncharged: {authorizer:?}"
    );
    assert!(
        page.contains("it is not charged and not counted"),
        "the page says what API Gateway's cache skips"
    );
}

/// What an operator configures lives in the stack: each variable the
/// functions read for it comes from a parameter, so a value set by hand on a
/// function is never lost on the next deploy. (`KEY_AUTHORIZER_TENANT_ID`
/// and `USAGE_FLUSH_SECONDS` were read but not in the template.)
#[test]
fn what_an_operator_sets_comes_from_the_stacks_parameters() {
    let template = template();
    let parameters = template["Parameters"].as_mapping().expect("Parameters");
    let wanted = [
        ("key-authorizer", "KEY_AUTHORIZER_TENANT_ID"),
        ("key-authorizer", "KEY_AUTHORIZER_ROUTE_PERMISSIONS"),
        ("key-authorizer", "USAGE_FLUSH_SECONDS"),
        ("key-authorizer", "VERIFY_CACHE_SECONDS"),
        ("verify-key", "USAGE_FLUSH_SECONDS"),
        ("verify-key", "VERIFY_CACHE_SECONDS"),
    ];
    for (binary, variable) in wanted {
        let (_, properties, _) = functions(&template)
            .into_iter()
            .find(|(_, _, built)| built == binary)
            .unwrap_or_else(|| panic!("no function builds {binary}"));
        let value = &properties["Environment"]["Variables"][variable];
        let Value::Tagged(tagged) = value else {
            panic!("{binary} does not get {variable} from a parameter: {value:?}");
        };
        let parameter = tagged.value.as_str().unwrap_or_default();
        assert!(
            tagged.tag == "Ref" && parameters.contains_key(parameter),
            "{binary}'s {variable} is {value:?}, not a !Ref to a parameter"
        );
    }
}

/// One row per route (`api::routes::TABLE`): a route added to the table
/// without the OpenAPI description and the README's route table fails here
/// (the template's events are held to it by
/// `every_route_is_served_by_the_function_the_code_names`). The OpenAPI file
/// declares each route's method and path and exactly the query parameters
/// its row takes; the README's table names each route.
#[test]
fn every_route_is_in_the_openapi_description_and_the_readme() {
    let leak_route = ("POST".to_owned(), api::leak_reports::PATH.to_owned());
    let rows: BTreeMap<(String, String), BTreeSet<String>> = api::routes::TABLE
        .iter()
        .map(|row| {
            let query = row.query.iter().map(|name| (*name).to_owned()).collect();
            ((row.method.to_owned(), row.path.to_owned()), query)
        })
        .chain([(leak_route.clone(), BTreeSet::new())])
        .collect();

    let text = std::fs::read_to_string(workspace().join("docs/openapi.yaml")).expect("readable");
    let openapi: Value = serde_norway::from_str(&text).expect("YAML");
    let shared = &openapi["components"]["parameters"];
    let mut described = BTreeMap::new();
    let Value::Mapping(paths) = &openapi["paths"] else {
        panic!("docs/openapi.yaml has no paths");
    };
    for (path, item) in paths {
        let path = path.as_str().expect("a path").to_owned();
        let Value::Mapping(operations) = item else {
            continue;
        };
        for (method, operation) in operations {
            let method = method.as_str().expect("a key").to_ascii_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            let query: BTreeSet<String> = as_list(&operation["parameters"])
                .iter()
                .map(|parameter| match parameter["$ref"].as_str() {
                    Some(reference) => {
                        let name = reference.rsplit('/').next().unwrap_or_default();
                        shared[name].clone()
                    }
                    None => parameter.clone(),
                })
                .filter(|parameter| parameter["in"] == "query")
                .map(|parameter| parameter["name"].as_str().expect("a name").to_owned())
                .collect();
            described.insert((method, path.clone()), query);
        }
    }
    assert_eq!(
        described, rows,
        "docs/openapi.yaml's operations and their query parameters are the route table's"
    );

    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("readable");
    let table = readme
        .split_once("## API\n")
        .map(|(_, after)| after)
        .expect("a section ## API");
    let mut named = BTreeSet::new();
    for line in table
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
    {
        let first_cell = line.split(" | ").next().unwrap_or_default();
        for quoted in first_cell.split('`').skip(1).step_by(2) {
            if let Some((method, path)) = quoted.split_once(' ')
                && path.starts_with('/')
            {
                named.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
    let routes: BTreeSet<(String, String)> = rows.into_keys().collect();
    assert_eq!(
        named, routes,
        "README.md's route table names every route, once"
    );
}

/// The product's alarms and dashboard read the metrics the code writes:
/// every `ApiKeysManager` metric they name is one of `telemetry`'s, each
/// `Function` they name is a function of the stack, the alarms tell the
/// alarm topic, and tracing is a parameter that is off by default.
#[test]
fn the_dashboard_and_product_alarms_read_metrics_the_code_writes() {
    let template = template();
    let resources = &template["Resources"];
    let written: BTreeSet<&str> = telemetry::ALL
        .iter()
        .map(|metric| match metric {
            telemetry::metrics::Metric::Counter(counter) => counter.emf_name,
            telemetry::metrics::Metric::Histogram(histogram) => histogram.emf_name,
        })
        .collect();
    let functions = lambda_binaries();
    let mut named = BTreeSet::new();
    for id in ["VerifyErrorRateAlarm", "UsageFlushFailuresAlarm"] {
        let properties = &resources[id]["Properties"];
        assert_eq!(
            as_list(&properties["AlarmActions"])
                .iter()
                .map(text_of)
                .collect::<Vec<_>>(),
            ["!Ref AlarmTopic"],
            "{id}"
        );
        for query in as_list(&properties["Metrics"]) {
            let metric = &query["MetricStat"]["Metric"];
            if metric.is_null() {
                continue;
            }
            assert_eq!(text_of(&metric["Namespace"]), "ApiKeysManager", "{id}");
            named.insert(text_of(&metric["MetricName"]));
            for dimension in as_list(&metric["Dimensions"]) {
                if text_of(&dimension["Name"]) == "Function" {
                    let function = text_of(&dimension["Value"]);
                    assert!(
                        functions.contains(&function),
                        "{id} watches no function {function}"
                    );
                }
            }
        }
    }
    let body = text_of(&resources["Dashboard"]["Properties"]["DashboardBody"]);
    let body = body.trim_start_matches("!Sub ");
    for part in body.split("\"ApiKeysManager\", \"").skip(1) {
        named.insert(part.split('"').next().unwrap_or_default().to_owned());
    }
    for part in body.split("MetricName=\\\"").skip(1) {
        named.insert(part.split('\\').next().unwrap_or_default().to_owned());
    }
    assert!(
        named.len() >= 6,
        "the dashboard and alarms name metrics: {named:?}"
    );
    for metric in &named {
        assert!(
            written.contains(metric.as_str()),
            "{metric} is not a metric the code writes ({written:?})"
        );
    }
    let tracing = &template["Parameters"]["Tracing"];
    assert_eq!(text_of(&tracing["Default"]), "PassThrough");
    assert_eq!(
        text_of(&template["Globals"]["Function"]["Tracing"]),
        "!Ref Tracing"
    );
}
