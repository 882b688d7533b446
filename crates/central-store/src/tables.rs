//! The schema's tables and columns as data, for the generic copy between
//! backends ([`crate::transfer`]) and the backends' raw row access: every
//! table, parents before children, each column with its [`Kind`], and the
//! backend-neutral [`Cell`] a copied value travels in. The `interviews`
//! columns come from the one projection table ([`crate::columns`]).

use uuid::Uuid;

use crate::columns::Kind::{self, Bool, Bytes, Float, Int, Text};
use crate::{Result, StoreError};

/// One table of the schema and its columns, in copy order.
#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

/// Every table, parents before children.
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "users",
        columns: &[
            ("id", Text),
            ("login", Text),
            ("name", Text),
            ("role", Text),
            ("countries", Text),
            ("password_hash", Text),
            ("active", Bool),
            ("created_at", Int),
            ("language", Text),
        ],
    },
    TableSpec {
        name: "devices",
        columns: &[
            ("id", Text),
            ("user_id", Text),
            ("label", Text),
            ("token_hash", Bytes),
            ("created_at", Int),
            ("last_sync_at", Int),
            ("revoked_at", Int),
            ("feed_cursor", Int),
            ("forms", Text),
        ],
    },
    TableSpec {
        name: "enrollment_codes",
        columns: &[
            ("code_hash", Bytes),
            ("user_id", Text),
            ("expires_at", Int),
            ("used_at", Int),
        ],
    },
    TableSpec {
        name: "api_tokens",
        columns: &[
            ("token_hash", Bytes),
            ("user_id", Text),
            ("label", Text),
            ("created_at", Int),
            ("revoked_at", Int),
        ],
    },
    TableSpec {
        name: "audit_log",
        columns: &[
            ("id", Int),
            ("at", Int),
            ("actor", Text),
            ("action", Text),
            ("target", Text),
            ("detail", Text),
        ],
    },
    TableSpec {
        name: "forms",
        columns: &[("form_id", Text), ("version", Int), ("json", Text)],
    },
    TableSpec {
        name: "places",
        columns: &[
            ("code", Text),
            ("country", Text),
            ("name", Text),
            ("region", Text),
            ("kind", Text),
            ("setting", Text),
            ("lat", Float),
            ("lon", Float),
            ("rev", Int),
        ],
    },
    TableSpec {
        name: "assignments",
        columns: &[
            ("user_id", Text),
            ("place_code", Text),
            ("team", Text),
            ("rev", Int),
        ],
    },
    TableSpec {
        name: "quotas",
        columns: &[
            ("place_code", Text),
            ("segment", Text),
            ("user_id", Text),
            ("target", Int),
        ],
    },
    TableSpec {
        name: "cases",
        columns: &[
            ("id", Text),
            ("interview_id", Text),
            ("campaign", Text),
            ("country", Text),
            ("reason", Text),
            ("status", Text),
            ("owner", Text),
            ("root_cause", Text),
            ("opened_at", Int),
            ("opened_by", Text),
            ("due_at", Int),
            ("first_contact_at", Int),
            ("resolved_at", Int),
            ("closed_at", Int),
            ("resolution", Text),
            ("satisfaction", Int),
            ("updated_at", Int),
            ("version", Int),
            ("contact_erased_at", Int),
        ],
    },
    TableSpec {
        name: "case_notes",
        columns: &[
            ("case_id", Text),
            ("at", Int),
            ("author", Text),
            ("text", Text),
        ],
    },
    TableSpec {
        name: "service_levels",
        columns: &[
            ("country", Text),
            ("first_contact_hours", Int),
            ("resolution_hours", Int),
        ],
    },
    TableSpec {
        name: "theme_codebooks",
        columns: &[
            ("campaign", Text),
            ("codebook", Text),
            ("version", Int),
            ("updated_by", Text),
            ("updated_at", Int),
        ],
    },
    TableSpec {
        name: "actions",
        columns: &[
            ("id", Text),
            ("campaign", Text),
            ("country", Text),
            ("title", Text),
            ("description", Text),
            ("root_causes", Text),
            ("themes", Text),
            ("evidence", Text),
            ("owner", Text),
            ("due_date", Text),
            ("status", Text),
            ("expected_effect", Text),
            ("created_by", Text),
            ("created_at", Int),
            ("updated_at", Int),
            ("version", Int),
        ],
    },
    TableSpec {
        name: "action_notes",
        columns: &[
            ("action_id", Text),
            ("at", Int),
            ("author", Text),
            ("text", Text),
        ],
    },
    TableSpec {
        name: "webhooks",
        columns: &[
            ("id", Text),
            ("url", Text),
            ("events", Text),
            ("allow_pii", Bool),
            ("active", Bool),
            ("description", Text),
            ("created_by", Text),
            ("created_at", Int),
            ("secret", Text),
        ],
    },
    TableSpec {
        name: "webhook_events",
        columns: &[
            ("id", Text),
            ("kind", Text),
            ("campaign", Text),
            ("country", Text),
            ("subject", Text),
            ("at", Int),
            ("payload", Text),
        ],
    },
    TableSpec {
        name: "webhook_deliveries",
        columns: &[
            ("id", Int),
            ("hook_id", Text),
            ("event_id", Text),
            ("state", Text),
            ("attempts", Int),
            ("next_at_ms", Int),
            ("locked_until_ms", Int),
            ("claim", Text),
            ("last_status", Int),
            ("last_error", Text),
            ("delivered_ms", Int),
            ("created_ms", Int),
        ],
    },
    TableSpec {
        name: "webhook_attempts",
        columns: &[
            ("id", Int),
            ("delivery_id", Int),
            ("at_ms", Int),
            ("status", Int),
            ("error", Text),
            ("duration_ms", Int),
        ],
    },
    TableSpec {
        name: "change_batches",
        columns: &[
            ("seq", Int),
            ("doc_id", Kind::Uuid),
            ("owner", Text),
            ("source", Text),
            ("hashes", Bytes),
            ("sizes", Text),
            ("bytes", Bytes),
            ("received_at", Int),
        ],
    },
    TableSpec {
        name: "actors",
        columns: &[("actor", Bytes), ("source", Text)],
    },
    TableSpec {
        name: "documents",
        columns: &[
            ("doc_id", Kind::Uuid),
            ("owner", Text),
            ("country", Text),
            ("snapshot", Bytes),
            ("heads", Bytes),
            ("version", Int),
            ("updated_seq", Int),
        ],
    },
    TableSpec {
        name: "interviews",
        columns: &crate::columns::INTERVIEW_COLUMNS,
    },
    TableSpec {
        name: "sessions",
        columns: &[
            ("token_hash", Bytes),
            ("user_id", Text),
            ("csrf", Text),
            ("created_at", Int),
            ("expires_at", Int),
        ],
    },
];

/// A backend-neutral cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Cell {
    pub(crate) fn to_param(
        &self,
        kind: Kind,
    ) -> Result<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> {
        let bad = || StoreError::Corrupt(format!("value {self:?} is not a {kind:?}"));
        Ok(match (kind, self) {
            (Kind::Text, Cell::Null) => Box::new(None::<String>),
            (Kind::Int, Cell::Null) => Box::new(None::<i64>),
            (Kind::Bool, Cell::Null) => Box::new(None::<bool>),
            (Kind::Bytes, Cell::Null) => Box::new(None::<Vec<u8>>),
            (Kind::Float, Cell::Null) => Box::new(None::<f64>),
            (Kind::Float, Cell::Float(f)) => Box::new(*f),
            (Kind::Float, Cell::Int(i)) => Box::new(*i as f64),
            (Kind::Uuid, Cell::Null) => Box::new(None::<Uuid>),
            (Kind::Text, Cell::Text(s)) => Box::new(s.clone()),
            (Kind::Int, Cell::Int(i)) => Box::new(*i),
            (Kind::Bool, Cell::Int(i)) => Box::new(*i != 0),
            (Kind::Bytes, Cell::Bytes(b)) => Box::new(b.clone()),
            (Kind::Uuid, Cell::Text(s)) => Box::new(Uuid::parse_str(s).map_err(|_| bad())?),
            _ => return Err(bad()),
        })
    }
}
