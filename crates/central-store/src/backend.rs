//! The one wiring of [`crate::CentralStore`] to a backend. Every backend
//! folder has the same concern modules (`identity`, `audit`, `forms`, `fieldops`,
//! `documents`, `interviews`, `dashboard`, `sessions`) and, in its `mod.rs`,
//! `stats` and `ping`, each holding a free function per trait method that
//! takes the store first (and the longer argument lists as one struct
//! below); `central_store_impl!(Store)` in the backend's
//! `mod.rs` implements the trait by calling them. A trait method added here
//! and missing from a backend fails to compile: no default can hide it.

use crate::Hash;

/// The arguments of [`crate::CentralStore::add_enrollment_code`].
#[derive(Clone, Copy)]
pub(crate) struct NewCode<'a> {
    pub user_id: &'a str,
    pub code_hash: &'a Hash,
    pub expires_at: i64,
}

/// The arguments of [`crate::CentralStore::redeem_enrollment`].
#[derive(Clone, Copy)]
pub(crate) struct Redeem<'a> {
    pub code_hash: &'a Hash,
    pub now: i64,
    pub device_id: &'a str,
    pub label: &'a str,
    pub token_hash: &'a Hash,
}

/// The arguments of [`crate::CentralStore::touch_device`].
#[derive(Clone, Copy)]
pub(crate) struct Touch<'a> {
    pub device_id: &'a str,
    pub now: i64,
    pub feed_cursor: u64,
    pub forms: Option<&'a str>,
}

/// The arguments of [`crate::CentralStore::add_api_token`].
#[derive(Clone, Copy)]
pub(crate) struct NewApiToken<'a> {
    pub user_id: &'a str,
    pub token_hash: &'a Hash,
    pub label: &'a str,
    pub now: i64,
}

/// The arguments of [`crate::CentralStore::feed`], and the feed a push
/// reads right after its commit ([`crate::CentralStore::commit_push`]).
#[derive(Debug, Clone, Copy)]
pub struct FeedRequest<'a> {
    pub owner: &'a str,
    pub exclude_source: &'a str,
    pub after: u64,
    pub max_changes: usize,
    pub max_bytes: usize,
}

macro_rules! central_store_impl {
    ($store:ty) => {
        impl $crate::CentralStore for $store {
            fn create_user(&self, u: &$crate::NewUser, now: i64) -> $crate::Result<$crate::User> {
                identity::create_user(self, u, now)
            }
            fn user(&self, id: &str) -> $crate::Result<Option<$crate::User>> {
                identity::user(self, id)
            }
            fn user_by_login(
                &self,
                login: &str,
            ) -> $crate::Result<Option<($crate::User, Option<String>)>> {
                identity::user_by_login(self, login)
            }
            fn list_users(&self, country: Option<&str>) -> $crate::Result<Vec<$crate::User>> {
                identity::list_users(self, country)
            }
            fn set_password_hash(&self, user_id: &str, hash: &str) -> $crate::Result<()> {
                identity::set_password_hash(self, user_id, hash)
            }
            fn user_language(&self, user_id: &str) -> $crate::Result<Option<String>> {
                identity::user_language(self, user_id)
            }
            fn set_user_language(
                &self,
                user_id: &str,
                language: Option<&str>,
            ) -> $crate::Result<()> {
                identity::set_user_language(self, user_id, language)
            }
            fn add_enrollment_code(
                &self,
                user_id: &str,
                code_hash: &$crate::Hash,
                expires_at: i64,
            ) -> $crate::Result<()> {
                let req = $crate::backend::NewCode {
                    user_id,
                    code_hash,
                    expires_at,
                };
                identity::add_enrollment_code(self, &req)
            }
            fn redeem_enrollment(
                &self,
                code_hash: &$crate::Hash,
                now: i64,
                device_id: &str,
                label: &str,
                token_hash: &$crate::Hash,
            ) -> $crate::Result<$crate::User> {
                let req = $crate::backend::Redeem {
                    code_hash,
                    now,
                    device_id,
                    label,
                    token_hash,
                };
                identity::redeem_enrollment(self, &req)
            }
            fn device_by_token(
                &self,
                token_hash: &$crate::Hash,
            ) -> $crate::Result<Option<$crate::DeviceAuth>> {
                identity::device_by_token(self, token_hash)
            }
            fn list_devices(
                &self,
                user_ids: Option<&[String]>,
            ) -> $crate::Result<Vec<$crate::Device>> {
                identity::list_devices(self, user_ids)
            }
            fn revoke_device(&self, device_id: &str, now: i64) -> $crate::Result<bool> {
                identity::revoke_device(self, device_id, now)
            }
            fn touch_device(
                &self,
                device_id: &str,
                now: i64,
                feed_cursor: u64,
                forms: Option<&str>,
            ) -> $crate::Result<()> {
                let req = $crate::backend::Touch {
                    device_id,
                    now,
                    feed_cursor,
                    forms,
                };
                identity::touch_device(self, &req)
            }
            fn actor_used_elsewhere(&self, actor: &[u8], source: &str) -> $crate::Result<bool> {
                documents::actor_used_elsewhere(self, actor, source)
            }
            fn actors_checked_at_commit(&self) -> bool {
                documents::ACTORS_CHECKED_AT_COMMIT
            }
            fn add_api_token(
                &self,
                user_id: &str,
                token_hash: &$crate::Hash,
                label: &str,
                now: i64,
            ) -> $crate::Result<()> {
                let req = $crate::backend::NewApiToken {
                    user_id,
                    token_hash,
                    label,
                    now,
                };
                identity::add_api_token(self, &req)
            }
            fn user_by_api_token(
                &self,
                token_hash: &$crate::Hash,
            ) -> $crate::Result<Option<$crate::User>> {
                identity::user_by_api_token(self, token_hash)
            }
            fn audit(&self, e: &$crate::AuditEntry) -> $crate::Result<()> {
                audit::audit(self, e)
            }
            fn audit_log(&self, limit: usize) -> $crate::Result<Vec<$crate::AuditEntry>> {
                audit::audit_log(self, limit)
            }
            fn put_form(&self, form_id: &str, version: u32, json: &str) -> $crate::Result<()> {
                forms::put_form(self, form_id, version, json)
            }
            fn forms(&self) -> $crate::Result<Vec<(String, u32, String)>> {
                forms::forms(self)
            }
            fn upsert_places(&self, places: &[survey_model::Place]) -> $crate::Result<usize> {
                forms::upsert_places(self, places)
            }
            fn list_places(&self) -> $crate::Result<Vec<survey_model::Place>> {
                forms::list_places(self)
            }
            fn place(&self, code: &str) -> $crate::Result<Option<survey_model::Place>> {
                forms::place(self, code)
            }
            fn upsert_assignments(&self, rows: &[$crate::Assignment]) -> $crate::Result<usize> {
                fieldops::upsert_assignments(self, rows)
            }
            fn list_assignments(&self) -> $crate::Result<Vec<$crate::Assignment>> {
                fieldops::list_assignments(self)
            }
            fn assignment_of(&self, user_id: &str) -> $crate::Result<Option<$crate::Assignment>> {
                fieldops::assignment_of(self, user_id)
            }
            fn quotas_at(&self, place_code: &str) -> $crate::Result<Vec<$crate::Quota>> {
                fieldops::quotas_at(self, place_code)
            }
            fn upsert_quotas(&self, rows: &[$crate::Quota]) -> $crate::Result<usize> {
                fieldops::upsert_quotas(self, rows)
            }
            fn list_quotas(&self) -> $crate::Result<Vec<$crate::Quota>> {
                fieldops::list_quotas(self)
            }
            fn done_counts(&self) -> $crate::Result<Vec<$crate::DoneCount>> {
                fieldops::done_counts(self)
            }
            fn open_case(&self, case: &$crate::Case) -> $crate::Result<bool> {
                cases::open_case(self, case)
            }
            fn case(&self, id: &str) -> $crate::Result<Option<$crate::Case>> {
                cases::case(self, id)
            }
            fn case_of_interview(
                &self,
                interview_id: &str,
            ) -> $crate::Result<Option<$crate::Case>> {
                cases::case_of_interview(self, interview_id)
            }
            fn cases_to_erase(&self, t: i64) -> $crate::Result<Vec<$crate::Case>> {
                cases::cases_to_erase(self, t)
            }
            fn list_cases(&self, f: &$crate::CaseFilter) -> $crate::Result<Vec<$crate::Case>> {
                cases::list_cases(self, f)
            }
            fn update_case(&self, case: &$crate::Case) -> $crate::Result<bool> {
                cases::update_case(self, case)
            }
            fn add_case_note(&self, note: &$crate::CaseNote) -> $crate::Result<()> {
                cases::add_case_note(self, note)
            }
            fn case_notes(&self, case_id: &str) -> $crate::Result<Vec<$crate::CaseNote>> {
                cases::case_notes(self, case_id)
            }
            fn upsert_service_levels(
                &self,
                rows: &[$crate::ServiceLevel],
            ) -> $crate::Result<usize> {
                cases::upsert_service_levels(self, rows)
            }
            fn list_service_levels(&self) -> $crate::Result<Vec<$crate::ServiceLevel>> {
                cases::list_service_levels(self)
            }
            fn insert_action(&self, a: &$crate::ActionItem) -> $crate::Result<()> {
                actions::insert_action(self, a)
            }
            fn update_action(&self, a: &$crate::ActionItem) -> $crate::Result<bool> {
                actions::update_action(self, a)
            }
            fn action(&self, id: &str) -> $crate::Result<Option<$crate::ActionItem>> {
                actions::action(self, id)
            }
            fn list_actions(
                &self,
                countries: &[String],
            ) -> $crate::Result<Vec<$crate::ActionItem>> {
                actions::list_actions(self, countries)
            }
            fn add_action_note(&self, note: &$crate::ActionNote) -> $crate::Result<()> {
                actions::add_action_note(self, note)
            }
            fn action_notes(&self, action_id: &str) -> $crate::Result<Vec<$crate::ActionNote>> {
                actions::action_notes(self, action_id)
            }
            fn codebook(&self, campaign: &str) -> $crate::Result<Option<$crate::StoredCodebook>> {
                actions::codebook(self, campaign)
            }
            fn put_codebook(&self, c: &$crate::StoredCodebook) -> $crate::Result<bool> {
                actions::put_codebook(self, c)
            }
            fn emit(&self, events: &[$crate::webhooks::Event]) -> $crate::Result<()> {
                webhooks::emit(self, events)
            }
            fn create_webhook(
                &self,
                hook: &$crate::webhooks::Webhook,
                secret: &str,
            ) -> $crate::Result<()> {
                webhooks::create_webhook(self, hook, secret)
            }
            fn list_webhooks(&self) -> $crate::Result<Vec<$crate::webhooks::Webhook>> {
                webhooks::list_webhooks(self)
            }
            fn webhook(&self, id: &str) -> $crate::Result<Option<$crate::webhooks::Webhook>> {
                webhooks::webhook(self, id)
            }
            fn set_webhook_active(&self, id: &str, active: bool) -> $crate::Result<bool> {
                webhooks::set_webhook_active(self, id, active)
            }
            fn claim_deliveries(
                &self,
                now_ms: i64,
                lease_until_ms: i64,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::webhooks::DeliveryJob>> {
                webhooks::claim_deliveries(self, now_ms, lease_until_ms, limit)
            }
            fn finish_delivery(
                &self,
                attempt: &$crate::webhooks::Attempt,
                next: $crate::webhooks::Next,
            ) -> $crate::Result<()> {
                webhooks::finish_delivery(self, attempt, next)
            }
            fn retry_delivery(&self, delivery_id: i64, now_ms: i64) -> $crate::Result<bool> {
                webhooks::retry_delivery(self, delivery_id, now_ms)
            }
            fn deliveries(
                &self,
                hook_id: &str,
                state: Option<&str>,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::webhooks::Delivery>> {
                webhooks::deliveries(self, hook_id, state, limit)
            }
            fn delivery_attempts(
                &self,
                delivery_id: i64,
            ) -> $crate::Result<Vec<$crate::webhooks::Attempt>> {
                webhooks::delivery_attempts(self, delivery_id)
            }
            fn field_tallies(
                &self,
                f: &$crate::InterviewFilter,
                day: &str,
            ) -> $crate::Result<$crate::fieldops::FieldTallies> {
                fieldops::field_tallies(self, f, day)
            }
            fn refresh_cross_checks(&self, keys: &$crate::CrossKeys) -> $crate::Result<()> {
                fieldops::refresh_cross_checks(self, keys)
            }
            fn places_revision(&self, country: &str) -> $crate::Result<String> {
                forms::places_revision(self, country)
            }
            fn load_doc(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::StoredDoc>> {
                documents::load_doc(self, id)
            }
            fn load_docs(&self, ids: &[uuid::Uuid]) -> $crate::Result<Vec<$crate::StoredDoc>> {
                documents::load_docs(self, ids)
            }
            fn doc_changes(&self, id: uuid::Uuid) -> $crate::Result<Vec<Vec<u8>>> {
                documents::doc_changes(self, id)
            }
            fn commit_docs(&self, writes: &[$crate::DocWrite]) -> $crate::Result<()> {
                documents::commit_docs(self, writes, None)
            }
            fn commit_push(
                &self,
                writes: &[$crate::DocWrite],
                derived: &$crate::Derived,
                then_feed: Option<&$crate::FeedRequest<'_>>,
            ) -> $crate::Result<Option<$crate::FeedPage>> {
                documents::commit_push(self, writes, derived, then_feed)
            }
            fn feed(
                &self,
                owner: &str,
                exclude_source: &str,
                after: u64,
                max_changes: usize,
                max_bytes: usize,
            ) -> $crate::Result<$crate::FeedPage> {
                let req = $crate::backend::FeedRequest {
                    owner,
                    exclude_source,
                    after,
                    max_changes,
                    max_bytes,
                };
                documents::feed(self, &req)
            }
            fn doc_heads(&self, id: uuid::Uuid) -> $crate::Result<Vec<$crate::Hash>> {
                documents::doc_heads(self, id)
            }
            fn interview(
                &self,
                id: uuid::Uuid,
            ) -> $crate::Result<Option<survey_model::InterviewRecord>> {
                interviews::interview(self, id)
            }
            fn list_interviews(
                &self,
                f: &$crate::InterviewFilter,
            ) -> $crate::Result<Vec<survey_model::InterviewRecord>> {
                interviews::list_interviews(self, f)
            }
            fn count_interviews(&self, f: &$crate::InterviewFilter) -> $crate::Result<u64> {
                interviews::count_interviews(self, f)
            }
            fn for_each_interview(
                &self,
                f: &$crate::InterviewFilter,
                visit: &mut dyn FnMut(survey_model::InterviewRecord, u64) -> $crate::Result<()>,
            ) -> $crate::Result<()> {
                interviews::for_each_interview(self, f, visit)
            }
            fn review_tags(&self, f: &$crate::InterviewFilter) -> $crate::Result<Vec<String>> {
                interviews::review_tags(self, f)
            }
            fn change_log(&self, id: uuid::Uuid) -> $crate::Result<Vec<$crate::ChangeMeta>> {
                documents::change_log(self, id)
            }
            fn stats(&self) -> $crate::Result<$crate::StoreStats> {
                stats(self)
            }
            fn ping(&self) -> $crate::Result<()> {
                ping(self)
            }
            fn scrub_free_space(&self) -> $crate::Result<()> {
                scrub_free_space(self)
            }
            fn campaign_stats(
                &self,
                f: &$crate::InterviewFilter,
            ) -> $crate::Result<$crate::dashboard::CampaignStats> {
                dashboard::campaign_stats(self, f)
            }
            fn review_queue(
                &self,
                q: &$crate::dashboard::ReviewQuery,
            ) -> $crate::Result<$crate::dashboard::ReviewPage> {
                dashboard::review_queue(self, q)
            }
            fn create_session(
                &self,
                token_hash: &$crate::Hash,
                s: &$crate::dashboard::Session,
            ) -> $crate::Result<()> {
                sessions::create_session(self, token_hash, s)
            }
            fn session(
                &self,
                token_hash: &$crate::Hash,
                now: i64,
            ) -> $crate::Result<Option<($crate::dashboard::Session, $crate::User)>> {
                sessions::session(self, token_hash, now)
            }
            fn delete_session(&self, token_hash: &$crate::Hash) -> $crate::Result<bool> {
                sessions::delete_session(self, token_hash)
            }
        }
    };
}
