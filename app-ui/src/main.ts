// The field app UI: renders what the Rust commands return. No form logic here:
// visibility, validation and completeness come from the model's FormView.
import { api, AppErrorBody, FormView, Json, ListItem, MyDay, QuestionView, RepeatView, Status, UiState } from "./api.js";
import { dirOf, isLang, Lang, t } from "./i18n.js";

type Screen = "enroll" | "list" | "form" | "sync";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {},
  ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

const state = {
  lang: pickLang(),
  screen: "enroll" as Screen,
  status: null as Status | null,
  filter: null as UiState | null,
  view: null as FormView | null,
  showRequired: false,
  saving: 0,
  saveChain: Promise.resolve() as Promise<unknown>,
};

function pickLang(): Lang {
  const saved = localStorage.getItem("fv.lang");
  if (isLang(saved)) return saved;
  const nav = navigator.language.slice(0, 2);
  return isLang(nav) ? nav : "en";
}

const tr = (key: string, vars: Record<string, string | number> = {}) => t(state.lang, key, vars);

function errText(e: unknown): string {
  const b = e as AppErrorBody;
  if (b && b.code === "offline") return tr("err_offline");
  if (b && b.code === "unauthorized") return tr("err_unauthorized");
  return b && typeof b.message === "string" ? b.message : String(e);
}

function show(screen: Screen): void {
  state.screen = screen;
  document.body.dataset.screen = screen;
  for (const s of ["enroll", "list", "form", "sync"] as Screen[]) $(`screen-${s}`).hidden = s !== screen;
  window.scrollTo(0, 0);
}

function fmtTime(ms: number | null): string {
  if (!ms) return tr("never");
  return new Date(ms).toLocaleString(state.lang === "ar" ? "ar" : state.lang, {
    dateStyle: "short", timeStyle: "short",
  });
}

// ---------- language ----------
function applyLang(): void {
  document.documentElement.lang = state.lang;
  document.documentElement.dir = dirOf(state.lang);
  ($("lang") as HTMLSelectElement).value = state.lang;
  document.querySelectorAll<HTMLElement>("[data-i18n]").forEach((n) => {
    n.textContent = tr(n.dataset.i18n ?? "");
  });
  document.querySelectorAll<HTMLInputElement>("[data-i18n-placeholder]").forEach((n) => {
    n.placeholder = tr(n.dataset.i18nPlaceholder ?? "");
  });
  renderFilters();
  renderStatus();
}

// ---------- status / sync ----------
async function refreshStatus(): Promise<void> {
  try {
    state.status = await api.status();
  } catch { /* keep the last status */ }
  renderStatus();
}

function renderStatus(): void {
  const s = state.status;
  const badge = $("nav-sync");
  badge.hidden = !s || !s.enrolled;
  if (!s) return;
  badge.classList.toggle("pending", s.pending > 0 && !s.last_error_code);
  badge.classList.toggle("error", !!s.last_error_code);
  badge.textContent = s.syncing ? tr("syncing")
    : s.last_error_code === "offline" ? tr("badge_offline", { n: s.pending })
    : s.pending > 0 ? tr("badge_pending", { n: s.pending }) : tr("badge_ok");
  $("sync-user").textContent = s.user_name ?? "—";
  $("sync-server").textContent = s.server_url ?? "—";
  $("sync-pending").textContent = String(s.pending);
  $("sync-last").textContent = fmtTime(s.last_sync_ms);
  const r = s.last_report;
  $("sync-result").textContent = r
    ? tr("result_fmt", { sent: r.sent, ack: r.acknowledged, recv: r.received_changes }) : "—";
  $("sync-progress").hidden = !s.syncing;
  ($("sync-now") as HTMLButtonElement).disabled = s.syncing;
  const err = $("sync-error");
  err.hidden = !s.last_error_code;
  err.textContent = s.last_error_code ? errText({ code: s.last_error_code, message: s.last_error ?? "" }) : "";
  document.body.dataset.pending = String(s.pending);
  document.body.dataset.syncing = String(s.syncing);
  renderMyDay(s.my_day);
}

/** "My place, my targets, done so far" above the interview list. */
function renderMyDay(day: MyDay | null): void {
  const box = $("my-day");
  box.hidden = !day;
  if (!day) return;
  const rows = day.targets.map((t) => {
    const goal = t.mine ?? t.place;
    const text = goal === null ? String(t.done) : `${t.done} / ${goal}`;
    return el("li", { "data-segment": t.segment },
      el("span", {}, tr(`seg_${t.segment}`)), el("b", {}, text));
  });
  box.replaceChildren(
    el("div", { class: "my-place" }, `${tr("my_place")}: `, el("b", {}, day.place_name),
      day.team ? ` · ${day.team}` : ""),
    el("ul", { class: "my-targets" }, ...rows),
  );
}

async function syncNow(): Promise<void> {
  if (state.status) state.status.syncing = true;
  renderStatus();
  try {
    state.status = await api.syncNow();
  } catch { /* the status carries the error */ }
  await refreshStatus();
  if (state.screen === "list") await renderList();
  if (state.screen === "form" && state.view) await openInterview(state.view.interview_id);
}

// ---------- enroll ----------
async function onEnroll(ev: Event): Promise<void> {
  ev.preventDefault();
  const btn = $("enroll-submit") as HTMLButtonElement;
  const err = $("enroll-error");
  err.hidden = true;
  btn.disabled = true;
  try {
    state.status = await api.enroll(($("enroll-server") as HTMLInputElement).value,
      ($("enroll-code") as HTMLInputElement).value);
    renderStatus();
    await goList();
  } catch (e) {
    err.textContent = errText(e);
    err.hidden = false;
  } finally {
    btn.disabled = false;
  }
}

// ---------- list ----------
function renderFilters(): void {
  const box = $("filters");
  box.replaceChildren();
  const opts: (UiState | null)[] = [null, "draft", "waiting", "synced", "issues"];
  for (const f of opts) {
    const b = el("button", { type: "button", "data-filter": f ?? "all",
      "aria-pressed": String(state.filter === f) }, f ? tr(`state_${f}`) : tr("filter_all"));
    b.addEventListener("click", () => { state.filter = f; renderFilters(); void renderList(); });
    box.append(b);
  }
}

async function goList(): Promise<void> {
  show("list");
  await renderList();
}

async function renderList(): Promise<void> {
  let items: ListItem[] = [];
  try {
    items = await api.list(($("search") as HTMLInputElement).value, state.filter, state.lang);
  } catch (e) {
    items = [];
    $("empty").textContent = errText(e);
  }
  const ul = $("interviews");
  ul.replaceChildren();
  for (const it of items) {
    const title = it.city || `${tr("interview")} ${it.id.slice(-6)}`;
    const date = it.created_at.slice(0, 16).replace("T", " ");
    const sub = [date, it.segment_label ?? it.segment ?? "", it.nps !== null ? `NPS ${it.nps}` : "",
      it.comment_count ? `💬 ${it.comment_count}` : ""].filter(Boolean).join(" · ");
    const btn = el("button", { type: "button" },
      el("span", { class: "card-title" }, title),
      el("span", { class: `state state-${it.state}` }, tr(`state_${it.state}`)),
      el("span", { class: "card-sub" }, sub));
    btn.addEventListener("click", () => void openInterview(it.id));
    ul.append(el("li", { "data-id": it.id, "data-state": it.state }, btn));
  }
  $("empty").hidden = items.length > 0;
  document.body.dataset.listCount = String(items.length);
}

// ---------- form ----------
/** New interview: straight on the only form, else the interviewer picks one. */
async function newInterview(): Promise<void> {
  try {
    const forms = await api.listForms(state.lang);
    if (forms.length > 1) {
      const picker = $("form-picker");
      const list = el("div", { class: "opts" });
      for (const f of forms) {
        const b = el("button", { type: "button", class: "opt", "data-form": f.form_id }, f.title);
        b.addEventListener("click", () => { picker.hidden = true; void startInterview(f.form_id); });
        list.append(b);
      }
      picker.replaceChildren(el("h2", {}, tr("choose_form")), list);
      picker.hidden = false;
      return;
    }
    await startInterview(null);
  } catch (e) {
    alertError(e);
  }
}

/** Where the interview starts, when the form records it (`start-geopoint`):
 * one quiet request to the device; no position, no value. */
function recordStartGeopoint(v: FormView): void {
  if (!v.wants_start_geopoint || !navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition((p) => {
    void queue((id) => api.recordStartGeopoint(id, p.coords.latitude, p.coords.longitude,
      p.coords.accuracy, state.lang));
  }, () => undefined, { enableHighAccuracy: true, timeout: 30000, maximumAge: 60000 });
}

async function startInterview(formId: string | null): Promise<void> {
  try {
    const v = await api.newInterview(state.lang, formId);
    state.showRequired = false;
    state.view = v;
    buildForm(v);
    show("form");
    recordStartGeopoint(v);
    void refreshStatus();
  } catch (e) {
    alertError(e);
  }
}

async function openInterview(id: string): Promise<void> {
  try {
    const v = await api.formView(id, state.lang);
    state.showRequired = v.status === "draft" && (v.review_state === "has_issues");
    state.view = v;
    buildForm(v);
    show("form");
  } catch (e) {
    alertError(e);
  }
}

function alertError(e: unknown): void {
  const box = $("form-error");
  box.textContent = errText(e);
  box.hidden = false;
  if (state.screen !== "form") window.alert(errText(e));
}

function setSaving(delta: number, failed = false): void {
  state.saving += delta;
  document.body.dataset.saving = String(state.saving);
  $("save-state").textContent = state.saving > 0 ? tr("saving") : failed ? tr("save_failed") : tr("saved");
}

/** Queue one answer; answers are saved in order, each durably before the next. */
function save(q: QuestionView, value: Json): Promise<void> {
  return queue((id) => q.instance === null
    ? api.setAnswer(id, q.name, value, state.lang)
    : api.setInstanceAnswer(id, q.instance, q.name, value, state.lang));
}

/** Queue one change of the open interview (an answer, an added or removed repeat instance). */
function queue(change: (id: string) => Promise<FormView>): Promise<void> {
  const id = state.view?.interview_id;
  if (!id) return Promise.resolve();
  setSaving(1);
  const p = state.saveChain.then(async () => {
    try {
      const v = await change(id);
      if (state.view?.interview_id === id) { state.view = v; applyView(v); }
      setSaving(-1);
      $("form-error").hidden = true;
    } catch (e) {
      setSaving(-1, true);
      alertError(e);
    }
  });
  state.saveChain = p;
  return p;
}

function debounce(fn: () => void, ms: number): () => void {
  let h: number | undefined;
  return () => { window.clearTimeout(h); h = window.setTimeout(fn, ms); };
}

/** A local date and time as RFC 3339 with the device's UTC offset. */
function rfc3339(d: Date): string {
  const p = (n: number) => String(Math.trunc(Math.abs(n))).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:00`
    + `${off >= 0 ? "+" : "-"}${p(off / 60)}:${p(off % 60)}`;
}

/** An RFC 3339 value as a datetime-local input shows it (device time). */
function localInput(v: Json): string {
  if (typeof v !== "string") return "";
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function textValue(v: Json): string {
  return v === null || v === undefined ? "" : String(v);
}

/** Lower-case text without accents, for searching option labels. */
function fold(s: string): string {
  return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

/** Show only the options whose label or value contains `text`. */
function filterOptions(row: HTMLElement, text: string): void {
  const want = fold(text.trim());
  row.querySelectorAll<HTMLButtonElement>("button[data-value]").forEach((b) => {
    b.hidden = want !== "" && !fold(`${b.textContent ?? ""} ${b.dataset.value ?? ""}`).includes(want);
  });
}

/** (Re)build the options of a drop-down (appearance "minimal"). */
function fillSelect(sel: HTMLSelectElement, q: QuestionView): void {
  const key = q.options.map((o) => o.value).join("\n");
  if (sel.dataset.opts === key) return;
  sel.dataset.opts = key;
  const keep = sel.value;
  sel.replaceChildren(el("option", { value: "" }, "—"));
  for (const o of q.options) sel.append(el("option", { value: o.value }, o.label));
  sel.value = keep;
}

/** (Re)build the option buttons of a choice question: options follow choice
 * filters (the country, earlier answers), so they can change with the view. */
function fillOptions(row: HTMLElement, q: QuestionView): void {
  const key = q.options.map((o) => o.value).join("\n");
  if (row.dataset.opts === key) return;
  row.dataset.opts = key;
  row.replaceChildren();
  for (const o of q.options) {
    const b = el("button", { type: "button", "data-value": o.value, "aria-pressed": "false" }, o.label);
    b.addEventListener("click", () => {
      if (q.kind === "single_choice") { void save(q, o.value); return; }
      const cur = (state.view && findQ(state.view, q.key)?.value) as string[] | null;
      const set = new Set(Array.isArray(cur) ? cur : []);
      if (set.has(o.value)) set.delete(o.value); else set.add(o.value);
      void save(q, set.size ? [...set] : null);
    });
    row.append(b);
  }
  if (q.searchable && q.options.length <= 1) {
    row.append(el("p", { class: "q-hint", "data-empty-list": q.key }, tr("list_empty")));
  }
  const find = row.parentElement?.querySelector<HTMLInputElement>("input[data-search]");
  if (find) filterOptions(row, find.value);
}

function buildQuestion(q: QuestionView): HTMLElement {
  const box = el("div", { class: q.kind === "note" ? "q q-note" : "q", "data-q": q.key, "data-kind": q.kind });
  // Labels and hints may pipe answers in: applyQuestion refreshes their text.
  const label = el("label", { class: "q-label", for: `in-${q.key}` }, el("span", { class: "q-text" }, q.label));
  if (q.required) label.append(el("span", { class: "req", "aria-hidden": "true" }, "*"));
  box.append(label);
  const hint = el("p", { class: "q-hint" }, q.hint ?? "");
  hint.hidden = !q.hint;
  box.append(hint);
  const choose = (value: Json) => void save(q, value);
  switch (q.kind) {
    case "note": break;
    case "consent": {
      const row = el("div", { class: "yesno", role: "radiogroup" });
      for (const [v, key] of [[true, "yes"], [false, "no"]] as [boolean, string][]) {
        const b = el("button", { type: "button", "data-value": String(v), "aria-pressed": "false" }, tr(key));
        b.addEventListener("click", () => choose(v));
        row.append(b);
      }
      box.append(row);
      break;
    }
    case "single_choice": case "multi_choice": {
      if (q.kind === "single_choice" && q.appearance === "minimal") {
        // appearance "minimal": a drop-down instead of one button per option.
        const sel = el("select", { id: `in-${q.key}`, "data-input": q.key });
        fillSelect(sel, q);
        sel.addEventListener("change", () => choose(sel.value === "" ? null : sel.value));
        box.append(sel);
        break;
      }
      const cls = q.appearance === "likert" ? "opts likert" : "opts";
      const row = el("div", { class: cls, role: q.kind === "single_choice" ? "radiogroup" : "group" });
      if (q.searchable) {
        // A list (places): a search box narrows the buttons, offline.
        const find = el("input", { type: "search", class: "opt-search", "data-search": q.key,
          placeholder: tr("search_list"), "aria-label": tr("search_list") });
        find.addEventListener("input", () => filterOptions(row, find.value));
        box.append(find);
      }
      fillOptions(row, q);
      box.append(row);
      break;
    }
    case "nps": case "rating": {
      const lo = q.min ?? (q.kind === "nps" ? 0 : 1), hi = q.max ?? (q.kind === "nps" ? 10 : 5);
      const row = el("div", { class: hi - lo + 1 <= 5 ? "scale r5" : "scale", role: "radiogroup" });
      for (let i = lo; i <= hi; i++) {
        const b = el("button", { type: "button", "data-value": String(i), "aria-pressed": "false" }, String(i));
        b.addEventListener("click", () => choose(i));
        row.append(b);
      }
      box.append(row);
      break;
    }
    case "integer": {
      const inp = el("input", { id: `in-${q.key}`, type: "number", inputmode: "numeric", step: "1",
        "data-input": q.key });
      if (q.min !== null) inp.min = String(q.min);
      if (q.max !== null) inp.max = String(q.max);
      const send = () => {
        const s = inp.value.trim();
        if (s === "") { choose(null); return; }
        const n = Number(s);
        if (!Number.isInteger(n)) { showLocalError(q.key, tr("err_not_a_number")); return; }
        choose(n);
      };
      inp.addEventListener("change", send);
      inp.addEventListener("input", debounce(send, 600));
      box.append(inp);
      break;
    }
    case "decimal": {
      const inp = el("input", { id: `in-${q.key}`, type: "number", inputmode: "decimal", step: "any",
        "data-input": q.key });
      const send = () => {
        const s = inp.value.trim();
        if (s === "") { choose(null); return; }
        const n = Number(s);
        if (!Number.isFinite(n)) { showLocalError(q.key, tr("err_not_a_decimal")); return; }
        choose(n);
      };
      inp.addEventListener("change", send);
      inp.addEventListener("input", debounce(send, 600));
      box.append(inp);
      break;
    }
    case "acknowledge": {
      const inp = el("input", { id: `in-${q.key}`, type: "checkbox", "data-ack": q.key });
      inp.addEventListener("change", () => choose(inp.checked ? true : null));
      box.append(el("label", { class: "ack", for: `in-${q.key}` }, inp, tr("ack_ok")));
      break;
    }
    case "text": {
      const long = q.multiline || (q.max_length ?? 0) > 200 || /verbatim|detail|reason|notes/.test(q.name);
      const inp = long
        ? el("textarea", { id: `in-${q.key}`, "data-input": q.key, rows: "4" })
        : el("input", { id: `in-${q.key}`, type: "text", "data-input": q.key });
      if (q.max_length) inp.setAttribute("maxlength", String(q.max_length));
      const send = () => choose(inp.value === "" ? null : inp.value);
      inp.addEventListener("input", debounce(send, 500));
      inp.addEventListener("change", send);
      box.append(inp);
      break;
    }
    case "date": {
      const inp = el("input", { id: `in-${q.key}`, type: "date", "data-input": q.key });
      if (q.min_date) inp.min = q.min_date;
      if (q.max_date) inp.max = q.max_date;
      inp.addEventListener("change", () => {
        if (inp.value === "") choose(null);
        else if (/^\d{4}-\d{2}-\d{2}$/.test(inp.value)) choose(inp.value);
      });
      const today = el("button", { type: "button", class: "secondary", "data-action": "today" }, tr("today"));
      today.addEventListener("click", () => {
        const d = new Date();
        const iso = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
        inp.value = iso;
        choose(iso);
      });
      box.append(inp, today);
      break;
    }
    case "time": {
      const inp = el("input", { id: `in-${q.key}`, type: "time", "data-input": q.key });
      inp.addEventListener("change", () => {
        if (inp.value === "") choose(null);
        else if (/^\d{2}:\d{2}(:\d{2})?$/.test(inp.value)) choose(inp.value);
      });
      box.append(inp);
      break;
    }
    case "datetime": {
      // The device's local time, stored with its UTC offset (RFC 3339).
      const inp = el("input", { id: `in-${q.key}`, type: "datetime-local", "data-dt": q.key });
      inp.addEventListener("change", () => {
        const d = new Date(inp.value);
        if (inp.value === "") choose(null);
        else if (!Number.isNaN(d.getTime())) choose(rfc3339(d));
      });
      box.append(inp);
      break;
    }
    case "geopoint": {
      const cap = el("button", { type: "button", class: "secondary big", "data-action": "gps" }, tr("gps_capture"));
      const msg = el("p", { class: "muted", "data-geo-msg": "" });
      const lat = el("input", { type: "number", step: "any", inputmode: "decimal", "data-geo": "lat",
        placeholder: tr("latitude"), "aria-label": tr("latitude") });
      const lon = el("input", { type: "number", step: "any", inputmode: "decimal", "data-geo": "lon",
        placeholder: tr("longitude"), "aria-label": tr("longitude") });
      const manual = el("button", { type: "button", class: "secondary", "data-action": "geo-save" }, tr("gps_save"));
      cap.addEventListener("click", () => {
        msg.textContent = tr("gps_capturing");
        if (!navigator.geolocation) { msg.textContent = tr("gps_failed"); return; }
        navigator.geolocation.getCurrentPosition((p) => {
          msg.textContent = "";
          lat.value = String(p.coords.latitude);
          lon.value = String(p.coords.longitude);
          choose({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy });
        }, () => { msg.textContent = tr("gps_failed"); },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
      });
      manual.addEventListener("click", () => {
        const a = Number(lat.value), o = Number(lon.value);
        if (lat.value === "" && lon.value === "") { choose(null); return; }
        if (!Number.isFinite(a) || !Number.isFinite(o) || lat.value === "" || lon.value === "") {
          showLocalError(q.key, tr("gps_failed")); return;
        }
        choose({ lat: a, lon: o, accuracy: null });
      });
      box.append(cap, msg, el("div", { class: "geo-row" }, lat, lon), manual);
      break;
    }
  }
  box.append(el("div", { class: "diags", "aria-live": "polite" }));
  return box;
}

/** Every question of a view, instances included. */
function allQuestions(v: FormView): QuestionView[] {
  return v.sections.flatMap((s) => [...s.questions,
    ...s.repeats.flatMap((r) => r.instances.flatMap((i) => i.questions))]);
}

function findQ(v: FormView, key: string): QuestionView | undefined {
  return allQuestions(v).find((q) => q.key === key);
}

/** A repeat's block: its instances, each with its questions and a remove
 * button, and an add button (unless the form sets the count). */
function buildRepeat(r: RepeatView): HTMLElement {
  const block = el("div", { class: "repeat", "data-repeat": r.id });
  // A repeat that is its own page has the page's title already.
  if (r.section !== r.id) block.append(el("h3", {}, r.label));
  const list = el("div", { class: "instances" });
  block.append(list);
  fillInstances(list, r);
  const add = el("button", { type: "button", class: "secondary", "data-action": "add-instance" }, tr("repeat_add"));
  add.addEventListener("click", () => void queue((id) => api.addInstance(id, r.id, state.lang)));
  block.append(add);
  return block;
}

function fillInstances(list: HTMLElement, r: RepeatView): void {
  list.replaceChildren();
  for (const inst of r.instances) {
    const box = el("fieldset", { class: "instance", "data-instance": String(inst.index) });
    box.append(el("legend", {}, tr("repeat_item", { label: r.label, n: inst.index + 1 })));
    for (const q of inst.questions) box.append(buildQuestion(q));
    if (!r.fixed) {
      const rm = el("button", { type: "button", class: "secondary", "data-action": "remove-instance" }, tr("repeat_remove"));
      rm.addEventListener("click", () => void queue((id) => api.removeInstance(id, r.id, inst.index, state.lang)));
      box.append(rm);
    }
    list.append(box);
  }
}

function showLocalError(name: string, text: string): void {
  const d = document.querySelector(`[data-q="${name}"] .diags`);
  if (d) d.replaceChildren(el("p", { class: "diag error" }, text));
}

function buildForm(v: FormView): void {
  const body = $("form-body");
  body.replaceChildren();
  body.append(el("p", { class: "muted", "data-consent-note": "" }, tr("consent_first")));
  for (const s of v.sections) {
    const sec = el("div", { class: "section", "data-section": s.id });
    if (s.label) sec.append(el("h2", {}, s.label));
    for (const q of s.questions) sec.append(buildQuestion(q));
    // Each repeat right after the question it follows (or first on its page).
    for (const r of [...s.repeats].reverse()) {
      const block = buildRepeat(r);
      const after = r.after ? sec.querySelector(`[data-q="${r.after}"]`) : sec.querySelector("h2");
      if (after) after.after(block); else sec.prepend(block);
    }
    body.append(sec);
  }
  $("form-error").hidden = true;
  $("save-state").textContent = "";
  applyView(v);
}

/** Update visibility, values, diagnostics and actions from a new view. */
function applyView(v: FormView): void {
  const locked = v.status === "submitted";
  $("form-title").textContent = v.title;
  const st = locked ? (v.review_state === "has_issues" ? "issues" : "waiting") : "draft";
  const badge = $("form-state");
  badge.className = `state state-${st}`;
  badge.textContent = tr(`state_${st}`);
  document.body.dataset.formStatus = v.status;
  const consentNote = document.querySelector<HTMLElement>("[data-consent-note]");
  if (consentNote) consentNote.hidden = v.consent_given || locked;
  for (const s of v.sections) {
    const secEl = document.querySelector<HTMLElement>(`[data-section="${s.id}"]`);
    if (secEl) secEl.hidden = !s.questions.some((q) => q.relevant) && !s.repeats.some((r) => r.relevant);
    for (const q of s.questions) applyQuestion(q, locked);
    for (const r of s.repeats) {
      const block = document.querySelector<HTMLElement>(`[data-repeat="${r.id}"]`);
      if (!block) continue;
      block.hidden = !r.relevant;
      const list = block.querySelector<HTMLElement>(".instances");
      if (list && list.children.length !== r.instances.length) fillInstances(list, r);
      block.querySelectorAll<HTMLButtonElement>('button[data-action$="-instance"]').forEach((b) => {
        b.hidden = r.fixed;
        b.disabled = locked;
      });
      for (const inst of r.instances) for (const q of inst.questions) applyQuestion(q, locked);
    }
  }
  $("submit").hidden = locked;
  $("reopen").hidden = !locked;
  // What the operator did for the customer (a follow-up case's outcome).
  const fu = $("followup");
  fu.hidden = !v.followup;
  if (v.followup) {
    const res = v.followup.resolution ? ` · ${tr(`resolution_${v.followup.resolution}`)}` : "";
    $("followup-text").textContent = tr(`followup_${v.followup.status}`) + res;
  }
  // Comments from the coordinator (and replies).
  const box = $("comments");
  box.hidden = v.comments.length === 0 && v.review_state !== "has_issues";
  const list = $("comment-list");
  list.replaceChildren();
  for (const c of v.comments) {
    const who = c.role === "employee" ? tr("comment_you") : c.author;
    list.append(el("li", {}, el("div", { class: "who" }, `${who} · ${c.at.slice(0, 16).replace("T", " ")}`),
      el("div", {}, c.text)));
  }
}

function applyQuestion(q: QuestionView, locked: boolean): void {
  const box = document.querySelector<HTMLElement>(`[data-q="${q.key}"]`);
  if (!box) return;
  box.hidden = !q.relevant;
  locked = locked || q.read_only;
  const text = box.querySelector<HTMLElement>(".q-text");
  if (text && text.textContent !== q.label) text.textContent = q.label;
  const hint = box.querySelector<HTMLElement>(".q-hint");
  if (hint) { hint.textContent = q.hint ?? ""; hint.hidden = !q.hint; }
  box.querySelectorAll<HTMLInputElement>("input[data-dt]").forEach((inp) => {
    if (document.activeElement !== inp) inp.value = localInput(q.value);
    inp.disabled = locked;
  });
  const opts = box.querySelector<HTMLElement>(".opts");
  if (opts) fillOptions(opts, q);
  const sel = box.querySelector<HTMLSelectElement>("select[data-input]");
  if (sel) fillSelect(sel, q);
  const v = q.value;
  box.querySelectorAll<HTMLButtonElement>("button[data-value]").forEach((b) => {
    const bv = b.dataset.value ?? "";
    const on = Array.isArray(v) ? v.includes(bv) : v !== null && String(v) === bv;
    b.setAttribute("aria-pressed", String(on));
    b.disabled = locked;
  });
  box.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>("[data-input]").forEach((inp) => {
    if (document.activeElement !== inp) inp.value = textValue(v);
    inp.disabled = locked;
  });
  box.querySelectorAll<HTMLInputElement>("input[data-ack]").forEach((inp) => {
    inp.checked = v === true;
    inp.disabled = locked;
  });
  if (q.kind === "geopoint") {
    const g = (v && typeof v === "object" && !Array.isArray(v)) ? v : null;
    box.querySelectorAll<HTMLInputElement>("input[data-geo]").forEach((inp) => {
      if (document.activeElement !== inp) inp.value = g ? textValue(g[inp.dataset.geo ?? ""] ?? null) : "";
      inp.disabled = locked;
    });
    box.querySelectorAll<HTMLButtonElement>("button[data-action]").forEach((b) => { b.disabled = locked; });
  }
  if (q.kind === "date") box.querySelectorAll<HTMLButtonElement>("button[data-action]").forEach((b) => { b.disabled = locked; });
  const diags = q.diagnostics.filter((d) => d.code !== "required" || state.showRequired);
  box.classList.toggle("has-error", diags.some((d) => d.severity === "error"));
  const dbox = box.querySelector(".diags");
  dbox?.replaceChildren(...diags.map((d) => el("p", { class: `diag ${d.severity}`, "data-code": d.code },
    d.code === "not_relevant" ? tr("warn_not_relevant")
      : d.code === "required" ? (d.from_form ? d.message : tr("err_required"))
      : tr(`err_${d.code}`, { detail: d.message }))));
}

async function onSubmit(): Promise<void> {
  const v = state.view;
  if (!v) return;
  await state.saveChain;
  try {
    const out = await api.submit(v.interview_id, state.lang);
    state.view = out.view;
    state.showRequired = true;
    applyView(out.view);
    if (out.submitted) {
      $("save-state").textContent = tr("submitted_ok");
      await refreshStatus();
      if (navigator.onLine) void syncNow();
      await goList();
    } else {
      const box = $("form-error");
      box.textContent = tr("fix_errors", { n: out.view.errors });
      box.hidden = false;
      document.querySelector(".q.has-error")?.scrollIntoView({ block: "center" });
    }
  } catch (e) {
    alertError(e);
  }
}

async function onReopen(): Promise<void> {
  const v = state.view;
  if (!v) return;
  try {
    state.view = await api.reopen(v.interview_id, state.lang);
    state.showRequired = true;
    applyView(state.view);
  } catch (e) {
    alertError(e);
  }
}

async function onComment(): Promise<void> {
  const v = state.view;
  const inp = $("comment-text") as HTMLInputElement;
  if (!v || !inp.value.trim()) return;
  try {
    state.view = await api.addComment(v.interview_id, inp.value, state.lang);
    inp.value = "";
    applyView(state.view);
  } catch (e) {
    alertError(e);
  }
}

// ---------- wiring ----------
async function start(): Promise<void> {
  const sel = $("lang") as HTMLSelectElement;
  sel.addEventListener("change", () => {
    if (!isLang(sel.value)) return;
    state.lang = sel.value;
    localStorage.setItem("fv.lang", state.lang);
    applyLang();
    if (state.screen === "form" && state.view) void openInterview(state.view.interview_id);
    if (state.screen === "list") void renderList();
  });
  $("enroll-form").addEventListener("submit", (e) => void onEnroll(e));
  $("nav-list").addEventListener("click", () => { if (state.status?.enrolled) void goList(); });
  $("nav-sync").addEventListener("click", () => { show("sync"); void refreshStatus(); });
  $("new-interview").addEventListener("click", () => void newInterview());
  $("search").addEventListener("input", debounce(() => void renderList(), 250));
  $("back").addEventListener("click", async () => { await state.saveChain; await goList(); });
  $("submit").addEventListener("click", () => void onSubmit());
  $("reopen").addEventListener("click", () => void onReopen());
  $("comment-send").addEventListener("click", () => void onComment());
  $("sync-now").addEventListener("click", () => void syncNow());
  $("server-save").addEventListener("click", async () => {
    try {
      state.status = await api.setServerUrl(($("server-url") as HTMLInputElement).value);
      renderStatus();
    } catch (e) {
      const err = $("sync-error");
      err.textContent = errText(e);
      err.hidden = false;
    }
  });
  // Sync as soon as the network comes back; the app also retries with backoff.
  window.addEventListener("online", () => void syncNow());
  window.setInterval(() => void refreshStatus(), 3000);
  document.body.dataset.saving = "0";
  applyLang();
  await refreshStatus();
  if (state.status?.enrolled) await goList(); else show("enroll");
  document.body.dataset.ready = "true";
}

void start();
