// Typed wrappers over the Tauri commands (app-ui/src-tauri/src/lib.rs).
export type UiState = "draft" | "waiting" | "synced" | "issues";
export type QuestionType = "single_choice" | "multi_choice" | "integer" | "nps" | "rating"
  | "text" | "date" | "geopoint" | "consent" | "note" | "decimal" | "acknowledge" | "time" | "datetime"
  | "calculate" | "metadata";
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface AppErrorBody { code: string; message: string; }
export interface SyncSummary { sent: number; acknowledged: number; rejected: number; received_changes: number;
  bytes_up: number; bytes_down: number; rounds: number; }
export interface Status {
  enrolled: boolean; user_name: string | null; server_url: string | null; campaign: string | null;
  country: string | null; pending: number; total: number; last_sync_ms: number | null;
  last_attempt_ms: number | null; syncing: boolean; last_error_code: string | null;
  last_error: string | null; last_report: SyncSummary | null; my_day: MyDay | null;
}
export interface MyTarget { segment: string; place: number | null; mine: number | null; done: number; }
export interface MyDay { place_code: string; place_name: string; team: string; targets: MyTarget[]; }
export interface ListItem {
  id: string; form_id: string; form_version: number; status: string; sync: "pending" | "synced";
  review_state: string | null; city: string | null; segment: string | null; nps: number | null;
  comment_count: number; conflicts: number; created_at: string; updated_at: number;
  sync_error: string | null; state: UiState; segment_label: string | null;
}
export interface DiagnosticView { code: string; severity: "error" | "warning"; message: string; from_form: boolean; }
export interface OptionView { value: string; label: string; }
export interface QuestionView {
  key: string; name: string; instance: number | null; kind: QuestionType; label: string; hint: string | null; required: boolean;
  relevant: boolean; options: OptionView[]; searchable: boolean; min: number | null; max: number | null;
  multiline: boolean; appearance: string | null; max_length: number | null; min_date: string | null; max_date: string | null;
  read_only: boolean; value: Json; diagnostics: DiagnosticView[];
}
export interface InstanceView { index: number; questions: QuestionView[]; }
export interface RepeatView {
  id: string; label: string; section: string; after: string | null; fixed: boolean; relevant: boolean;
  instances: InstanceView[];
}
export interface SectionView { id: string; label: string; questions: QuestionView[]; repeats: RepeatView[]; }
export interface Comment { id: string; author: string; role: string; at: string; text: string; }
export interface FormView {
  interview_id: string; form_id: string; form_version: number; title: string; lang: string;
  dir: "ltr" | "rtl"; status: string; review_state: string | null; created_at: string;
  followup: { status: string; resolution: string | null } | null;
  sections: SectionView[]; comments: Comment[]; errors: number; complete: boolean;
  consent_given: boolean; conflicts: string[]; wants_start_geopoint: boolean;
}
export interface FormItem { form_id: string; version: number; title: string; }
export interface SubmitOutcome { submitted: boolean; view: FormView; }

interface TauriGlobal { core: { invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T>; }; }
declare global { interface Window { __TAURI__?: TauriGlobal; } }

/** Call a command; rejects with an AppErrorBody. */
export async function call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  const tauri = window.__TAURI__;
  if (!tauri) throw { code: "internal", message: "not running inside the app" } as AppErrorBody;
  try {
    return await tauri.core.invoke<T>(cmd, args);
  } catch (e) {
    if (typeof e === "object" && e !== null && "code" in e) throw e as AppErrorBody;
    throw { code: "internal", message: String(e) } as AppErrorBody;
  }
}

export const api = {
  status: () => call<Status>("status"),
  enroll: (server: string, code: string) => call<Status>("enroll", { server, code }),
  setServerUrl: (url: string) => call<Status>("set_server_url", { url }),
  list: (text: string, state: UiState | null, lang: string) =>
    call<ListItem[]>("list_interviews", { filter: { text: text || null, state, lang } }),
  listForms: (lang: string) => call<FormItem[]>("list_forms", { lang }),
  newInterview: (lang: string, formId: string | null = null) => call<FormView>("new_interview", { formId, lang }),
  formView: (id: string, lang: string) => call<FormView>("form_view", { id, lang }),
  setAnswer: (id: string, question: string, value: Json, lang: string) =>
    call<FormView>("set_answer", { id, question, value, lang }),
  setInstanceAnswer: (id: string, index: number, question: string, value: Json, lang: string) =>
    call<FormView>("set_instance_answer", { id, index, question, value, lang }),
  recordStartGeopoint: (id: string, lat: number, lon: number, accuracy: number | null, lang: string) =>
    call<FormView>("record_start_geopoint", { id, lat, lon, accuracy, lang }),
  addInstance: (id: string, repeat: string, lang: string) => call<FormView>("add_instance", { id, repeat, lang }),
  removeInstance: (id: string, repeat: string, index: number, lang: string) =>
    call<FormView>("remove_instance", { id, repeat, index, lang }),
  submit: (id: string, lang: string) => call<SubmitOutcome>("submit", { id, lang }),
  reopen: (id: string, lang: string) => call<FormView>("reopen", { id, lang }),
  addComment: (id: string, text: string, lang: string) => call<FormView>("add_comment", { id, text, lang }),
  syncNow: () => call<Status>("sync_now"),
};
