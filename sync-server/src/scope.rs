//! [`Scope`]: which countries a caller may see or act on, for one action and
//! one request. Every list, stats, queue, export and user listing resolves its
//! countries here, through [`crate::auth::authorize`], and nowhere else.

use central_store::Role;

use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;
use crate::identity::is_country;

/// What the countries are wanted for (each maps to an [`Action`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Read interviews, stats, the review queue.
    Read,
    /// Review, comment, tag.
    Review,
    /// See users and devices.
    ManageUsers,
    /// Export datasets and reports.
    Export,
    /// See and work follow-up cases.
    WorkCases,
    /// See and write hackathon actions.
    Actions,
}

impl Purpose {
    /// The action `authorize` decides for `country`.
    pub fn action(self, country: &str) -> Action<'_> {
        match self {
            Purpose::Read => Action::ReadInterviews { country },
            Purpose::Review => Action::Review { country },
            Purpose::ManageUsers => Action::ManageUsers { country },
            Purpose::Export => Action::Export { country },
            Purpose::WorkCases => Action::WorkCases { country },
            Purpose::Actions => Action::ManageActions { country },
        }
    }
}

/// The countries of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every country (admins who did not ask for particular ones).
    All,
    /// These countries, each authorised; never empty.
    Countries(Vec<String>),
}

/// Countries a caller asked for: comma-separated ISO 3166 alpha-2 codes,
/// trimmed and upper-cased; empty means "not asked".
pub fn parse_countries(asked: Option<&str>) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for c in asked.unwrap_or("").split(',') {
        let c = c.trim().to_ascii_uppercase();
        if c.is_empty() {
            continue;
        }
        if !is_country(&c) {
            return Err(ApiError::BadRequest(
                "country must be ISO 3166 alpha-2 codes, comma-separated".into(),
            ));
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

impl Scope {
    /// The countries `p` may use for `purpose` in this request: those `asked`
    /// (each authorised, else 403), or without any, every country of the
    /// caller (all of them for an admin; 403 for an account with none).
    pub fn resolve(
        p: &Principal,
        purpose: Purpose,
        asked: Option<&str>,
    ) -> Result<Scope, ApiError> {
        let asked = parse_countries(asked)?;
        let scope = if !asked.is_empty() {
            Scope::Countries(asked)
        } else if p.user.role == Role::Admin {
            Scope::All
        } else if p.user.countries.is_empty() {
            return Err(ApiError::Forbidden("no country assigned".into()));
        } else {
            Scope::Countries(p.user.countries.clone())
        };
        match &scope {
            Scope::All => authorize(p, purpose.action("*"))?,
            Scope::Countries(cs) => {
                for c in cs {
                    authorize(p, purpose.action(c))?;
                }
            }
        }
        Ok(scope)
    }

    /// The countries, `None` for all.
    pub fn countries(&self) -> Option<&[String]> {
        match self {
            Scope::All => None,
            Scope::Countries(cs) => Some(cs),
        }
    }

    /// Whether `country` is in the scope.
    pub fn allows(&self, country: &str) -> bool {
        self.countries()
            .is_none_or(|cs| cs.iter().any(|c| c == country))
    }

    /// As a store filter's country list (`[]` = all).
    pub fn filter(&self) -> Vec<String> {
        self.countries().map(<[String]>::to_vec).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use central_store::User;

    fn who(role: Role, countries: &[&str]) -> Principal {
        Principal {
            user: User {
                id: "u".into(),
                login: "u".into(),
                name: "U".into(),
                role,
                countries: countries.iter().map(|c| (*c).to_owned()).collect(),
                active: true,
                created_at: 0,
                language: None,
            },
            device: None,
            assignment: None,
        }
    }

    #[test]
    fn a_coordinator_gets_every_one_of_their_countries_and_nothing_else() {
        let p = who(Role::Coordinator, &["CI", "SN"]);
        for purpose in [
            Purpose::Read,
            Purpose::Review,
            Purpose::ManageUsers,
            Purpose::Export,
            Purpose::WorkCases,
        ] {
            assert_eq!(
                Scope::resolve(&p, purpose, None).unwrap(),
                Scope::Countries(vec!["CI".into(), "SN".into()])
            );
            assert_eq!(
                Scope::resolve(&p, purpose, Some(" sn ")).unwrap(),
                Scope::Countries(vec!["SN".into()])
            );
            assert_eq!(
                Scope::resolve(&p, purpose, Some("SN,ML"))
                    .unwrap_err()
                    .status(),
                axum::http::StatusCode::FORBIDDEN
            );
        }
        assert_eq!(
            Scope::resolve(&p, Purpose::Read, Some("C1"))
                .unwrap_err()
                .status(),
            axum::http::StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn admins_get_all_analysts_only_export_and_nobody_without_countries() {
        let admin = who(Role::Admin, &[]);
        assert_eq!(
            Scope::resolve(&admin, Purpose::Read, None).unwrap(),
            Scope::All
        );
        assert_eq!(Scope::All.countries(), None);
        assert!(Scope::All.filter().is_empty());
        let analyst = who(Role::Analyst, &["CI"]);
        assert!(Scope::resolve(&analyst, Purpose::Export, None).is_ok());
        assert!(Scope::resolve(&analyst, Purpose::Read, None).is_err());
        let nobody = who(Role::Coordinator, &[]);
        for purpose in [Purpose::Read, Purpose::ManageUsers, Purpose::Export] {
            assert!(Scope::resolve(&nobody, purpose, None).is_err());
        }
        let mut device = who(Role::Employee, &["CI"]);
        device.device = Some(central_store::Device {
            id: "d".into(),
            user_id: "u".into(),
            label: String::new(),
            created_at: 0,
            last_sync_at: None,
            forms: String::new(),
            revoked: false,
            feed_cursor: 0,
        });
        assert!(Scope::resolve(&device, Purpose::Read, Some("CI")).is_err());
    }
}
