//! The OpenAPI 3 description of the JSON API, served at
//! `GET /api/v1/openapi.json`. Written by hand next to the route table; the
//! `dashboard_scope` tests check that every `/api/v1` route is described here.

use serde_json::{Value, json};

fn err() -> Value {
    json!({ "description": "error", "content": { "application/json": {
        "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description,
            "content": { "application/json": { "schema": schema } } })
}

fn id_param(what: &str) -> Value {
    json!({ "name": "id", "in": "path", "required": true, "description": what,
            "schema": { "type": "string" } })
}

fn q(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description,
            "schema": { "type": "string" } })
}

fn json_body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

/// A form upload: fieldvoice JSON, or an XLSForm workbook converted first
/// (a workbook that does not convert is a 400 with located `problems`).
fn form_body() -> Value {
    json!({ "required": true, "content": {
        "application/json": { "schema": { "type": "object", "description": "fieldvoice form (schemas/form.schema.json)" } },
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": { "type": "string", "format": "binary",
                        "description": "XLSForm (survey, choices, settings sheets)" } } } })
}

fn form_problems() -> Value {
    json!({ "description": "invalid form; for an XLSForm, every problem located by sheet, row and column",
            "content": { "application/json": { "schema": { "type": "object", "required": ["error"],
                "properties": { "error": { "type": "string" },
                    "problems": { "type": "array", "items": { "type": "object",
                        "required": ["sheet", "message"],
                        "properties": { "sheet": { "type": "string" },
                            "row": { "type": ["integer", "null"] },
                            "column": { "type": ["string", "null"] },
                            "message": { "type": "string" } } } } } } } } })
}

fn with_problems(mut o: Value) -> Value {
    o["responses"]["400"] = form_problems();
    o["responses"]["409"] = err();
    o
}

fn op(tag: &str, summary: &str, params: Vec<Value>, body: Option<Value>, resp: Value) -> Value {
    let mut o = json!({
        "tags": [tag],
        "summary": summary,
        "parameters": params,
        "responses": { "200": resp, "400": err(), "401": err(), "403": err(), "404": err(),
                       "408": err(), "429": err() },
    });
    if let Some(b) = body {
        // Every body has a size limit; a JSON body must be sent as
        // `application/json` (415) and have the documented shape (422).
        o["responses"]["413"] = err();
        if b["content"].get("application/json").is_some() {
            o["responses"]["415"] = err();
            o["responses"]["422"] = err();
        }
        o["requestBody"] = b;
    }
    o
}

/// The export answer: one content type per format and part, from the table
/// the handler uses (`routes::export::export_content_type`), also listed by
/// format under `x-fieldvoice-content-types`.
fn export_response() -> Value {
    use crate::routes::export::{PARTS, export_content_type};
    let mut content = serde_json::Map::new();
    let mut by_format = serde_json::Map::new();
    for f in export::Format::ALL {
        let mut by_part = serde_json::Map::new();
        for (part, _) in PARTS {
            if let Some(ct) = export_content_type(f, part) {
                content.insert(
                    ct.to_owned(),
                    json!({ "schema": { "type": "string", "format": "binary" } }),
                );
                by_part.insert(part.to_owned(), json!(ct));
            }
        }
        by_format.insert(f.as_str().to_owned(), Value::Object(by_part));
    }
    json!({ "description": "the file (`part`: data, dictionary, manifest, actions, codebook, codebook_csv or removed)",
            "content": content, "x-fieldvoice-content-types": by_format })
}

/// The report answer, by `format=`.
fn report_response() -> Value {
    let content: serde_json::Map<String, Value> = crate::routes::export::REPORT_CONTENT_TYPES
        .iter()
        .map(|(f, ct)| {
            let ty = if *f == "json" { "object" } else { "string" };
            ((*ct).to_owned(), json!({ "schema": { "type": ty } }))
        })
        .collect();
    json!({ "description": "report", "content": content })
}

fn obj() -> Value {
    json!({ "type": "object" })
}

fn arr(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

/// The document.
/// The follow-up case routes (kept apart: one `json!` of every path is too
/// deep for the macro).
fn case_paths() -> Value {
    let case_body = json_body(
        json!({ "type": "object", "required": ["version"], "properties": {
        "version": { "type": "integer" }, "status": { "type": "string" }, "owner": { "type": "string" },
        "resolution": { "type": "string" }, "satisfaction": { "type": "integer" }, "note": { "type": "string" } } }),
    );
    let open_body = json_body(json!({ "type": "object", "required": ["interview_id"],
        "properties": { "interview_id": { "type": "string", "format": "uuid" } } }));
    let levels_body = json_body(arr(json!({ "type": "object",
        "required": ["country", "first_contact_hours", "resolution_hours"] })));
    json!({
        "/api/v1/cases": {
            "get": op("cases", "The follow-up case queue of the caller's countries (agents and coordinators), by due date; no contact details",
                vec![q("country", "country; default: all the caller may work"), q("status", "open, contacted, resolved, not_reachable or closed"),
                     q("owner", "me, or a user id"), q("page", "page number (50 per page)")], None,
                ok("cases", arr(obj()))),
            "post": op("cases", "Open a case by hand for an interview (coordinators of its country): 201; 409 when it has one",
                vec![], Some(open_body), ok("case", obj())) },
        "/api/v1/cases/{id}": {
            "get": op("cases", "One case with the interview's summary and the notes (404 outside the caller's countries)",
                vec![id_param("case id")], None, ok("case", obj())),
            "post": op("cases", "Take, assign, move (open → contacted | not_reachable → resolved with a resolution and satisfaction 1-5 → closed) or annotate a case; a stale version is a 409",
                vec![id_param("case id")], Some(case_body), ok("case", obj())) },
        "/api/v1/cases/{id}/contact": { "get": op("cases", "The customer's contact details: the case's owner and the country's coordinators only; every view is audit-logged",
            vec![id_param("case id")], None, ok("contact", obj())) },
        "/api/v1/case-stats": { "get": op("cases", "Service-level figures per country and root cause: cases, contacted (in time), overdue, share of first contacts within the service level, mean hours to first contact and to resolution, mean satisfaction after resolution",
            vec![q("country", "country; default: all the caller may work")], None, ok("figures", arr(obj()))) },
        "/api/v1/service-levels": {
            "get": op("cases", "Service levels of the caller's countries (hours to first contact and to resolution)", vec![], None, ok("service levels", arr(obj()))),
            "post": op("cases", "Set service levels (coordinators for their countries)", vec![], Some(levels_body), ok("changed", obj())) },
    })
}

fn action_paths() -> Value {
    let fields = json!({
        "title": { "type": "string", "maxLength": 200 }, "description": { "type": "string" },
        "root_causes": arr(json!({ "type": "string", "description": "options of complaint_root_cause" })),
        "themes": arr(json!({ "type": "string" })),
        "evidence": arr(json!({ "type": "string", "format": "uuid", "description": "interviews of the action's country" })),
        "owner": { "type": "string" }, "due_date": { "type": "string", "format": "date" },
        "status": { "type": "string", "enum": ["planned", "in_progress", "done", "dropped"] },
        "expected_effect": { "type": "string" } });
    let mut new = fields.clone();
    new["country"] = json!({ "type": "string" });
    let mut update = fields;
    update["version"] = json!({ "type": "integer" });
    update["note"] = json!({ "type": "string", "description": "a progress note" });
    json!({
        "/api/v1/actions": {
            "get": op("actions", "The hackathon actions of the caller's countries (coordinators and analysts), every campaign",
                vec![q("country", "country; default: all the caller may see")], None, ok("actions", arr(obj()))),
            "post": op("actions", "Record an action for a country (its coordinators and analysts): 201; an action.updated webhook event",
                vec![], Some(json_body(json!({ "type": "object", "required": ["country", "title"], "properties": new }))), ok("action", obj())) },
        "/api/v1/actions/{id}": {
            "get": op("actions", "One action with its progress notes (404 outside the caller's countries)",
                vec![id_param("action id")], None, ok("action", obj())),
            "post": op("actions", "Change an action at the version read (a stale one is a 409), with an optional progress note",
                vec![id_param("action id")], Some(json_body(json!({ "type": "object", "required": ["version"], "properties": update }))), ok("action", obj())) },
    })
}

fn theme_paths() -> Value {
    let theme = json!({ "type": "object", "required": ["code", "labels"], "properties": {
        "code": { "type": "string", "pattern": "^[a-z0-9_]{1,40}$" },
        "labels": { "type": "object", "required": ["fr", "en", "ar", "pt"], "properties": {
            "fr": { "type": "string" }, "en": { "type": "string" }, "ar": { "type": "string" }, "pt": { "type": "string" } } } } });
    json!({
        "/api/v1/themes/codebook": {
            "get": op("themes", "The campaign's theme codebook (version 0: the default one, nothing saved yet)", vec![], None, ok("codebook", obj())),
            "post": op("themes", "Save the codebook at the version read (admins and coordinators; a stale version is a 409)", vec![],
                Some(json_body(json!({ "type": "object", "required": ["version", "themes"], "properties": {
                    "version": { "type": "integer" }, "themes": arr(theme) } }))), ok("codebook", obj())) },
        "/api/v1/themes/suggestions": { "get": op("themes", "Theme suggestions with confidence for the uncoded verbatims of the caller's countries (those it reviews), least confident first, and the model's training figures",
            vec![q("country", "country; default: all the caller reviews"), q("limit", "at most this many (default 50, at most 500)")], None, ok("suggestions", obj())) },
        "/api/v1/interviews/{id}/themes": { "post": op("themes", "Set the interview's theme codes (accept or correct a suggestion): one server edit of its theme: tags",
            vec![id_param("interview id")], Some(json_body(json!({ "type": "object", "required": ["themes"], "properties": {
                "themes": arr(json!({ "type": "string", "description": "codebook codes" })) } }))), ok("updated record", obj())) },
    })
}

/// The OData feed (`routes::odata`) and export jobs.
fn odata_paths() -> Value {
    let job = json!({ "type": "object", "required": ["id", "state", "format", "read", "total", "progress", "files"],
        "properties": { "id": { "type": "string" }, "state": { "type": "string", "enum": ["queued", "running", "done", "failed"] },
            "format": { "type": "string" }, "read": { "type": "integer" }, "total": { "type": "integer" },
            "progress": { "type": "number" }, "files": arr(obj()), "manifest": obj(), "error": { "type": "string" } } });
    json!({
            "/api/v1/exports": { "post": op("export", "Start an export job (large exports: poll its status, then download its files)", vec![],
                Some(json_body(json!({ "type": "object", "required": ["format"], "properties": {
                    "format": { "type": "string", "enum": ["csv", "xlsx", "parquet", "jsonl", "geojson"] },
                    "country": { "type": "string" }, "pii": { "type": "string" }, "lang": { "type": "string" },
                    "since": { "type": "integer" }, "labels": { "type": "string" }, "excel": { "type": "boolean" },
                    "comments": { "type": "boolean" }, "include_drafts": { "type": "boolean" },
                    "include_rejected": { "type": "boolean" } } }))),
                ok("the job, accepted (202)", job.clone())) },
            "/api/v1/exports/{id}": { "get": op("export", "An export job's state, progress and files", vec![id_param("job id")], None,
                ok("job", job)) },
            "/api/v1/exports/{id}/files/{name}": { "get": op("export", "A finished export job's file (Range requests answered 206)",
                vec![id_param("job id"), json!({ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } })], None,
                json!({ "description": "the file", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } })) },
            "/api/v1/odata": { "get": op("odata", "OData v4 service document (HTTP Basic: an API token as the password)", vec![], None,
                ok("service document", obj())) },
            "/api/v1/odata/": { "get": op("odata", "The service document again (clients that add a trailing slash)", vec![], None,
                ok("service document", obj())) },
            "/api/v1/odata/$metadata": { "get": op("odata", "OData v4 metadata (CSDL): the Interviews entity set", vec![], None,
                json!({ "description": "CSDL", "content": { crate::routes::odata::XML_CONTENT_TYPE: { "schema": { "type": "string" } } } })) },
            "/api/v1/odata/Interviews": { "get": op("odata", "The interviews of the caller's countries (submitted, consented, not rejected; PII omitted), paged with @odata.nextLink",
                vec![q("$select", "comma-separated properties"),
                     q("$filter", "eq ne gt ge lt le, and, or, not, parentheses; strings in single quotes"),
                     q("$top", "at most this many rows in all"), q("$skip", "skip this many rows"),
                     q("$count", "true: add @odata.count"), q("$orderby", "interview_id (the only order)"),
                     q("$skiptoken", "from @odata.nextLink")], None,
                json!({ "description": "a page", "content": { crate::routes::odata::JSON_CONTENT_TYPE: { "schema": obj() } } })) },
            "/api/v1/odata/Interviews/$count": { "get": op("odata", "How many interviews match $filter, as text", vec![q("$filter", "as for Interviews")], None,
                json!({ "description": "a number", "content": { "text/plain": { "schema": { "type": "integer" } } } })) }
    })
}

fn webhook_paths() -> Value {
    let hook_body = json_body(
        json!({ "type": "object", "required": ["url", "events"], "properties": {
        "url": { "type": "string", "format": "uri" },
        "events": arr(json!({ "type": "string", "enum": central_store::webhooks::EVENT_KINDS })),
        "allow_pii": { "type": "boolean", "description": "deliveries carry the interview's PII fields (audited)" },
        "description": { "type": "string" } } }),
    );
    let active_body = json_body(json!({ "type": "object", "required": ["active"],
        "properties": { "active": { "type": "boolean" } } }));
    json!({
        "/api/v1/webhooks": {
            "get": op("webhooks", "Registered webhooks (admins; no secrets)", vec![], None, ok("webhooks", arr(obj()))),
            "post": op("webhooks", "Register a webhook (admins): 201 with its signing secret, shown once. Each delivery is a POST with Idempotency-Key (the event id), X-Fieldvoice-Event, X-Fieldvoice-Delivery and X-Fieldvoice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" keyed with the secret>; retried with exponential backoff until it is answered 2xx",
                vec![], Some(hook_body), ok("webhook and secret", obj())) },
        "/api/v1/webhooks/{id}": { "post": op("webhooks", "Pause or resume a webhook (deliveries wait while it is paused)",
            vec![id_param("webhook id")], Some(active_body), ok("webhook", obj())) },
        "/api/v1/webhooks/{id}/deliveries": { "get": op("webhooks", "The delivery log, newest first, each delivery with its attempts (time, HTTP status, error, duration)",
            vec![id_param("webhook id"), q("state", "pending, delivered or failed"), q("limit", "at most 500 (default 100)")], None, ok("deliveries", arr(obj()))) },
        "/api/v1/webhooks/{id}/deliveries/{delivery}/retry": { "post": op("webhooks", "Queue a failed (given-up) delivery again: 204",
            vec![id_param("webhook id"), json!({ "name": "delivery", "in": "path", "required": true, "schema": { "type": "integer" } })], None, ok("nothing", obj())) },
    })
}

pub fn document() -> Value {
    let record = json!({ "$ref": "#/components/schemas/InterviewRecord" });
    let queue_params = vec![
        q(
            "country",
            "ISO country code; default: all the caller may read",
        ),
        q("city", "city or village"),
        q("segment", "customer segment"),
        q(
            "review_state",
            "unreviewed, received, has_issues, approved or rejected",
        ),
        q("nps_band", "promoter, passive or detractor"),
        q(
            "check",
            "a quality check (too_fast, many_edits, close_together, far_from_place, duplicate_phone, straight_lined, short_verbatim, clock_skew) or any",
        ),
        q("sort", "newest (default) or flags (most flagged first)"),
        q("from", "first day, YYYY-MM-DD"),
        q("to", "last day, YYYY-MM-DD"),
        q("complaint", "complaint category code"),
        q("page", "page number (50 per page)"),
    ];
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "fieldvoice sync server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Offline-first interview campaigns. People authenticate with \
                `Authorization: Bearer fva_...` (API token) or the dashboard session cookie \
                (then non-GET calls need the `X-CSRF-Token` header); devices with `fvd_...` tokens."
        },
        "security": [ { "bearer": [] }, { "session": [] } ],
        "paths": {
            "/healthz": { "get": op("ops", "Health: the store answers a trivial query (no merge permit, no table read)", vec![], None, ok("ok", obj())) },
            "/readyz": { "get": op("ops", "Readiness: 200 while this replica takes traffic; 503 once it is draining (SIGTERM) or its store is unreachable", vec![], None, ok("ready", obj())) },
            "/metrics": { "get": op("ops", "Prometheus metrics (text format)", vec![], None,
                json!({ "description": "metrics", "content": { crate::routes::ops::METRICS_CONTENT_TYPE: { "schema": { "type": "string" } } } })) },
            "/api/v1/sync": { "post": op("sync", "Push changes and pull the feed (device token)", vec![],
                Some(json!({ "required": true, "content": { "application/octet-stream": {
                    "schema": { "type": "string", "format": "binary",
                                "description": "FVSY | version | compression | postcard(SyncRequest)" } } } })),
                json!({ "description": "framed SyncResponse", "content": { "application/octet-stream": {
                    "schema": { "type": "string", "format": "binary" } } } })) },
            "/api/v1/enroll": { "post": op("identity", "Exchange a one-time code for a device token (rate-limited)", vec![],
                Some(json_body(json!({ "type": "object", "required": ["code", "device_label"],
                    "properties": { "code": { "type": "string" }, "device_label": { "type": "string" } } }))),
                ok("device token and forms", obj())) },
            "/api/v1/me": { "get": op("identity", "The caller", vec![], None, ok("user", obj())) },
            "/api/v1/users": {
                "get": op("identity", "Users of a country", vec![q("country", "country")], None, ok("users", arr(obj()))),
                "post": op("identity", "Create a user (coordinators: employees of their country)", vec![],
                    Some(json_body(json!({ "type": "object", "required": ["login", "name", "countries"],
                        "properties": { "login": { "type": "string" }, "name": { "type": "string" },
                            "countries": arr(json!({ "type": "string" })), "role": { "type": "string" },
                            "password": { "type": "string" } } }))),
                    ok("user and enrollment code", obj())),
            },
            "/api/v1/users/import": { "post": op("identity", "Import employees from CSV (login,name,country[,role])", vec![],
                Some(json!({ "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } })),
                ok("created users with codes, and problems", obj())) },
            "/api/v1/users/{id}/enrollment-code": { "post": op("identity", "A new enrollment code (and QR as SVG)",
                vec![id_param("user id")], None, ok("code", obj())) },
            "/api/v1/devices": { "get": op("identity", "Devices of a country", vec![q("country", "country")], None,
                ok("devices", arr(json!({ "$ref": "#/components/schemas/Device" })))) },
            "/api/v1/devices/{id}/revoke": { "post": op("identity", "Revoke a device token", vec![id_param("device id")], None,
                json!({ "description": "revoked" })) },
            "/api/v1/forms": {
                "get": op("forms", "Every form", vec![], None, ok("forms", arr(obj()))),
                "post": with_problems(op("forms", "Publish a form version (admin), as fieldvoice JSON or an XLSForm workbook: 201 with the changes from the previous version, 200 for the same version and content again, 409 for a changed published version or a lower number", vec![], Some(form_body()), ok("publication", obj()))),
            },
            "/api/v1/forms/{id}/{version}": { "get": op("forms", "One form version (devices fetch the versions named by the sync response's x-fieldvoice-forms header)",
                vec![id_param("form id"), json!({ "name": "version", "in": "path", "required": true, "schema": { "type": "integer" } })], None, ok("form", obj())) },
            "/api/v1/forms/preview": { "post": with_problems(op("forms", "What publishing this form version (fieldvoice JSON or an XLSForm workbook) would change, without publishing it (admin)",
                vec![], Some(form_body()), ok("publication", obj()))) },
            "/api/v1/places": {
                "get": op("places", "The place list of a country (default: the caller's countries; a device: its employee's country) and its revision, which the sync response's x-fieldvoice-places header names",
                    vec![q("country", "country")], None,
                    ok("place list", json!({ "type": "object", "properties": {
                        "revision": { "type": "string" },
                        "places": arr(json!({ "type": "object", "properties": {
                            "code": { "type": "string" }, "country": { "type": "string" },
                            "name": { "type": "string" }, "region": { "type": "string" },
                            "kind": { "type": "string", "enum": survey_model::places::PLACE_KINDS },
                            "setting": { "type": "string", "enum": survey_model::places::PLACE_SETTINGS },
                            "lat": { "type": "number", "nullable": true },
                            "lon": { "type": "number", "nullable": true } } })) } }))),
                "post": op("places", "Add or change places from CSV (code,country,name,region,kind,setting,lat,lon): admins, coordinators for their countries; a file with any problem is refused whole (400 naming each row and column)", vec![],
                    Some(json!({ "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } })),
                    ok("places read, changed, countries", obj())),
            },
            "/api/v1/me/assignment": {
                "get": op("field operations", "The caller's field day: place, team and targets per segment (the place's and their own), with the revision the sync response's x-fieldvoice-assignment header names; null when not assigned", vec![], None,
                    ok("assignment or null", obj())),
            },
            "/api/v1/assignments": {
                "post": op("field operations", "Assign employees to places from CSV (login,place_code[,team]): admins, coordinators for their countries; a file with any problem is refused whole (400 naming each row and column)", vec![],
                    Some(json!({ "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } })),
                    ok("rows, changed, countries", obj())),
            },
            "/api/v1/quotas": {
                "get": op("field operations", "Quota targets per place and segment (and per employee) with the submitted interviews counted against them, for the caller's countries",
                    vec![q("country", "country")], None,
                    ok("targets with progress", arr(json!({ "type": "object", "properties": {
                        "country": { "type": "string" }, "place_code": { "type": "string" },
                        "place_name": { "type": "string" }, "segment": { "type": "string" },
                        "user_id": { "type": "string" }, "user_name": { "type": "string" },
                        "target": { "type": "integer" }, "done": { "type": "integer" } } })))),
                "post": op("field operations", "Set quota targets from CSV (place_code,segment,target[,login]): admins, coordinators for their countries; refused whole on any problem", vec![],
                    Some(json!({ "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } })),
                    ok("rows, changed, countries", obj())),
            },
            "/api/v1/interviews": { "get": op("interviews", "Merged interviews of the caller's countries",
                vec![q("country", "country"), q("city", "city"), q("place_code", "place code"), q("segment", "segment"),
                     q("review_state", "review state"), q("status", "draft or submitted"),
                     q("created_by", "user id"), q("limit", "max 1000"), q("offset", "offset")], None,
                ok("page", json!({ "type": "object", "properties": {
                    "total": { "type": "integer" }, "items": arr(record.clone()) } }))) },
            "/api/v1/interviews/{id}": { "get": op("interviews", "One interview with comments and conflicts (404 outside the caller's countries)",
                vec![id_param("interview id")], None, ok("interview", obj())) },
            "/api/v1/interviews/{id}/review": { "post": op("review", "Set the review state (an Automerge change that reaches the device)",
                vec![id_param("interview id")],
                Some(json_body(json!({ "type": "object", "required": ["state"], "properties": {
                    "state": { "type": "string", "enum": ["received", "has_issues", "approved", "rejected"] } } }))),
                ok("updated record", record.clone())) },
            "/api/v1/interviews/{id}/comments": { "post": op("review", "Add a comment", vec![id_param("interview id")],
                Some(json_body(json!({ "type": "object", "required": ["text"], "properties": {
                    "text": { "type": "string", "maxLength": 4000 } } }))),
                ok("updated record", record.clone())) },
            "/api/v1/interviews/{id}/tags": { "post": op("review", "Add or remove a theme / root-cause tag", vec![id_param("interview id")],
                Some(json_body(json!({ "type": "object", "required": ["tag"], "properties": {
                    "tag": { "type": "string", "pattern": "^[a-z0-9_:-]{1,64}$" }, "on": { "type": "boolean", "default": true } } }))),
                ok("updated record", record.clone())) },
            "/api/v1/interviews/{id}/erase": { "post": op("review", "Erase the interview's personal data for good, on the customer's request (admins): the document is rewritten without it and without history; devices replace their copy at their next sync; audited (question names, never values)", vec![id_param("interview id")],
                Some(json_body(json!({ "type": "object", "required": ["scope"], "properties": {
                    "scope": { "type": "string", "enum": ["pii", "interview"], "description": "pii: the form's personal-data answers; interview: every answer and comment" } } }))),
                ok("what was erased", json!({ "type": "object", "properties": {
                    "interview_id": { "type": "string", "format": "uuid" },
                    "scope": { "type": "string", "enum": ["pii", "interview"] },
                    "erased": { "type": "array", "items": { "type": "string" }, "description": "question names erased so far" } } }))) },
            "/api/v1/export/{format}": { "get": op("export", "Export the merged dataset of the caller's countries (streamed)",
                vec![json!({ "name": "format", "in": "path", "required": true,
                        "schema": { "type": "string", "enum": ["csv", "xlsx", "parquet", "jsonl", "geojson"] } }),
                     q("country", "comma-separated country codes"),
                     q("pii", "omit (default), pseudonymize or include (admins; audited)"),
                     q("lang", "label language"), q("since", "only changes after this log position"),
                     q("part", "data (default), dictionary, manifest, actions (actions.csv), codebook (codebook.json, all four languages), codebook_csv, or removed (removed.csv: what left the dataset since `since`)"),
                     q("labels", "codes (default), columns (a <column>_label beside each coded column) or values (labels instead of codes)"),
                     q("excel", "true: CSV with a UTF-8 byte order mark"),
                     q("comments", "true: add the review comments (scrubbed)"),
                     q("include_drafts", "true: export drafts too"),
                     q("include_rejected", "true: export interviews rejected in review too")], None,
                export_response()) },
            "/api/v1/report": { "get": op("export", "Analysis summary (HTML by default, or JSON)",
                vec![q("country", "country codes"), q("lang", "language"), q("format", "html or json")], None,
                report_response()) },
            "/api/v1/stats": { "get": op("dashboard", "Campaign progress, NPS and satisfaction by touchpoint and segment",
                vec![q("country", "country; default: all the caller may read")], None,
                ok("stats", json!({ "$ref": "#/components/schemas/Stats" }))) },
            "/api/v1/review-queue": { "get": op("dashboard", "The filtered review queue, newest first", queue_params, None,
                ok("page", json!({ "type": "object", "properties": {
                    "total": { "type": "integer" }, "items": arr(record) } }))) },
            "/api/v1/command-centre": { "get": op("dashboard", "The field day: target, done and expected by now per country, place and segment; interviews per hour; flags per place; employees without an interview; silent devices",
                vec![q("country", "country; default: all the caller may read"), q("day", "the field day, YYYY-MM-DD; default today (UTC)"),
                     q("silent_h", "devices not synced for more than this many hours are listed (1-240, default 3)")], None,
                ok("command centre", obj())) },
            "/api/v1/openapi.json": { "get": op("ops", "This document", vec![], None, ok("OpenAPI 3 document", obj())) },
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE },
            },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "string" } } },
                "Device": { "type": "object", "properties": {
                    "id": { "type": "string" }, "user_id": { "type": "string" }, "label": { "type": "string" },
                    "created_at": { "type": "integer" }, "last_sync_at": { "type": "integer", "nullable": true },
                    "revoked": { "type": "boolean" },
                    "forms": { "type": "string", "description": "The form versions the device reported at its last sync: id@version, comma-separated (the newest of each form); empty before any report." } } },
                "InterviewRecord": { "type": "object", "properties": {
                    "interview_id": { "type": "string" }, "form_id": { "type": "string" },
                    "form_version": { "type": "integer" }, "campaign": { "type": "string" },
                    "country": { "type": "string" }, "created_by": { "type": "string" },
                    "device_id": { "type": "string" }, "created_at": { "type": "string" },
                    "status": { "type": "string" }, "submitted_at": { "type": "string", "nullable": true },
                    "review_state": { "type": "string", "nullable": true },
                    "answers": { "type": "object", "additionalProperties": true },
                    "quality_flags": arr(json!({ "type": "string", "description": "question:code of an answer left out of `answers` (invalid, or hidden by skip logic); it stays in the document" })),
                    "checks": arr(json!({ "type": "string", "description": "a quality check that fires: too_fast, many_edits, close_together, far_from_place, duplicate_phone, straight_lined, short_verbatim, clock_skew" })),
                    "paradata": { "type": "object", "description": "how the interview was filled in (device clock): first_answer_at, submitted_at, duration_s, sections [[section, seconds]], answer_changes, edits, clock_skew_s" },
                    "tags": arr(json!({ "type": "string" })), "comment_count": { "type": "integer" },
                    "conflicts": arr(json!({ "type": "string" })), "heads": arr(json!({ "type": "string" })) } },
                "Tally": { "type": "object", "properties": {
                    "interviews": { "type": "integer" }, "with_nps": { "type": "integer" },
                    "promoters": { "type": "integer" }, "passives": { "type": "integer" },
                    "detractors": { "type": "integer" }, "complaints": { "type": "integer" },
                    "sat_sum": arr(json!({ "type": "integer" })), "sat_n": arr(json!({ "type": "integer" })) } },
                "Stats": { "type": "object", "properties": {
                    "countries": { "type": "array", "nullable": true, "items": { "type": "string" } },
                    "touchpoints": arr(json!({ "type": "string" })),
                    "nps_score": { "type": "number", "nullable": true },
                    "satisfaction": arr(json!({ "type": "number", "nullable": true })),
                    "total": { "$ref": "#/components/schemas/Tally" },
                    "by_country": arr(obj()), "by_place": arr(obj()), "by_segment": arr(obj()),
                    "by_employee": arr(arr(json!({}))), "by_review_state": arr(arr(json!({}))) } },
            }
        }
    });
    for more in [
        case_paths(),
        action_paths(),
        theme_paths(),
        webhook_paths(),
        odata_paths(),
    ] {
        if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), more) {
            paths.extend(more);
        }
    }
    doc
}
