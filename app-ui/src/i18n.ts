// UI strings (the form's own labels come from the form, in the same language).
export type Lang = "fr" | "en" | "ar" | "pt";
export const LANGS: Lang[] = ["fr", "en", "ar", "pt"];

type Dict = Record<string, string>;

const en: Dict = {
  followup_title: "The customer's follow-up", followup_open: "Waiting to be called back", followup_contacted: "Called back", followup_resolved: "Called back, problem resolved", followup_not_reachable: "Could not be reached", followup_closed: "Follow-up closed", resolution_fixed: "fixed", resolution_explained: "explained", resolution_compensated: "compensated", resolution_escalated: "escalated", resolution_no_action_needed: "no action needed", resolution_other: "other",
  my_place: "My place", seg_individual: "Individuals", seg_business: "Businesses", seg_mobile_money_user: "Mobile Money users", seg_partner: "Partners",
  search_list: "Search the list…", list_empty: "No place list on this device yet: sync once, or choose Other.",
  app_name: "FieldVoice", language: "Language",
  enroll_title: "Enroll this device",
  enroll_help: "Enter the server address and the code from your coordinator, or paste the QR link.",
  server_url: "Server address", enroll_code: "Enrollment code", enroll_button: "Enroll",
  new_interview: "New interview", search: "Search city, name, words…", no_interviews: "No interviews yet.",
  back: "Back", coordinator_comments: "Comments from the coordinator", reply: "Reply…", send: "Send",
  submit: "Finish and submit", reopen: "Reopen to fix", sync_title: "Sync", user: "Interviewer",
  pending: "Waiting to sync", last_sync: "Last sync", last_result: "Last result", syncing: "Syncing…",
  sync_now: "Sync now", change_server: "Change server address", save: "Save",
  state_draft: "Draft", state_waiting: "Waiting to sync", state_synced: "Synced", state_issues: "Has issues",
  filter_all: "All", never: "never", saving: "Saving…", saved: "Saved", save_failed: "Not saved",
  badge_pending: "{n} to sync", badge_ok: "Synced", badge_offline: "Offline · {n}",
  err_required: "An answer is required.", err_out_of_range: "Out of range: {detail}",
  err_pattern: "Wrong format: {detail}", err_too_long: "Too long: {detail}",
  err_wrong_type: "Not a valid answer: {detail}", err_unknown_option: "Unknown option",
  err_too_few_selected: "Select more: {detail}", err_too_many_selected: "Select fewer: {detail}",
  err_date_out_of_range: "Date out of range: {detail}", warn_not_relevant: "Hidden by an earlier answer; ignored.",
  err_not_a_number: "Enter a whole number.", err_not_a_decimal: "Enter a number.",
  err_constraint: "Not accepted: {detail}", ack_ok: "OK",
  yes: "Yes", no: "No", gps_capture: "Capture GPS position", gps_capturing: "Locating…",
  gps_failed: "GPS unavailable: enter the position by hand.", latitude: "Latitude", longitude: "Longitude",
  gps_save: "Save position", today: "Today", repeat_add: "Add", choose_form: "Which form?", repeat_remove: "Remove", repeat_item: "{label} {n}", submitted_ok: "Submitted. It will be sent at the next sync.",
  fix_errors: "{n} problem(s) to fix before submitting.", err_offline: "No connection to the server. Your interviews are safe on this device.",
  err_unauthorized: "The server refused this device. Enroll again with a new code.",
  result_fmt: "{sent} sent, {ack} confirmed, {recv} changes received", interview: "Interview",
  consent_first: "Ask for consent first: the interview starts after a “Yes”.",
  submitted_locked: "Submitted: reopen it to change answers.", nps_low: "Not likely", nps_high: "Very likely",
  comment_you: "You",
};

const fr: Dict = {
  followup_title: "Le suivi du client", followup_open: "En attente de rappel", followup_contacted: "Rappelé", followup_resolved: "Rappelé, problème résolu", followup_not_reachable: "Injoignable", followup_closed: "Suivi clôturé", resolution_fixed: "corrigé", resolution_explained: "expliqué", resolution_compensated: "dédommagé", resolution_escalated: "transmis", resolution_no_action_needed: "aucune action nécessaire", resolution_other: "autre",
  my_place: "Mon lieu", seg_individual: "Particuliers", seg_business: "Entreprises", seg_mobile_money_user: "Utilisateurs Mobile Money", seg_partner: "Partenaires",
  search_list: "Rechercher dans la liste…", list_empty: "Pas encore de liste de lieux sur cet appareil : synchronisez une fois, ou choisissez Autre.",
  app_name: "FieldVoice", language: "Langue",
  enroll_title: "Enregistrer cet appareil",
  enroll_help: "Saisissez l'adresse du serveur et le code donné par votre coordinateur, ou collez le lien du QR code.",
  server_url: "Adresse du serveur", enroll_code: "Code d'enregistrement", enroll_button: "Enregistrer",
  new_interview: "Nouvel entretien", search: "Rechercher ville, nom, mots…", no_interviews: "Aucun entretien pour l'instant.",
  back: "Retour", coordinator_comments: "Commentaires du coordinateur", reply: "Répondre…", send: "Envoyer",
  submit: "Terminer et soumettre", reopen: "Rouvrir pour corriger", sync_title: "Synchronisation", user: "Enquêteur",
  pending: "En attente d'envoi", last_sync: "Dernière synchro", last_result: "Dernier résultat", syncing: "Synchronisation…",
  sync_now: "Synchroniser", change_server: "Changer l'adresse du serveur", save: "Enregistrer",
  state_draft: "Brouillon", state_waiting: "En attente d'envoi", state_synced: "Envoyé", state_issues: "À corriger",
  filter_all: "Tous", never: "jamais", saving: "Enregistrement…", saved: "Enregistré", save_failed: "Non enregistré",
  badge_pending: "{n} à envoyer", badge_ok: "À jour", badge_offline: "Hors ligne · {n}",
  err_required: "Une réponse est obligatoire.", err_out_of_range: "Hors limites : {detail}",
  err_pattern: "Format incorrect : {detail}", err_too_long: "Trop long : {detail}",
  err_wrong_type: "Réponse invalide : {detail}", err_unknown_option: "Option inconnue",
  err_too_few_selected: "Choisissez-en plus : {detail}", err_too_many_selected: "Choisissez-en moins : {detail}",
  err_date_out_of_range: "Date hors limites : {detail}", warn_not_relevant: "Masquée par une réponse précédente ; ignorée.",
  err_not_a_number: "Saisissez un nombre entier.", err_not_a_decimal: "Saisissez un nombre.",
  err_constraint: "Non accepté : {detail}", ack_ok: "OK",
  yes: "Oui", no: "Non", gps_capture: "Relever la position GPS", gps_capturing: "Localisation…",
  gps_failed: "GPS indisponible : saisissez la position à la main.", latitude: "Latitude", longitude: "Longitude",
  gps_save: "Enregistrer la position", today: "Aujourd'hui", repeat_add: "Ajouter", choose_form: "Quel formulaire ?", repeat_remove: "Retirer", repeat_item: "{label} {n}", submitted_ok: "Soumis. Il sera envoyé à la prochaine synchronisation.",
  fix_errors: "{n} problème(s) à corriger avant de soumettre.", err_offline: "Pas de connexion au serveur. Vos entretiens sont en sécurité sur cet appareil.",
  err_unauthorized: "Le serveur refuse cet appareil. Enregistrez-le de nouveau avec un nouveau code.",
  result_fmt: "{sent} envoyés, {ack} confirmés, {recv} modifications reçues", interview: "Entretien",
  consent_first: "Demandez d'abord le consentement : l'entretien commence après un « Oui ».",
  submitted_locked: "Soumis : rouvrez-le pour modifier les réponses.", nps_low: "Peu probable", nps_high: "Très probable",
  comment_you: "Vous",
};

const ar: Dict = {
  followup_title: "متابعة العميل", followup_open: "في انتظار معاودة الاتصال", followup_contacted: "تم الاتصال به", followup_resolved: "تم الاتصال به وحُلّت المشكلة", followup_not_reachable: "تعذّر الوصول إليه", followup_closed: "أُغلقت المتابعة", resolution_fixed: "أُصلح", resolution_explained: "تم التوضيح", resolution_compensated: "تم التعويض", resolution_escalated: "تم التصعيد", resolution_no_action_needed: "لا حاجة لإجراء", resolution_other: "أخرى",
  my_place: "مكاني", seg_individual: "أفراد", seg_business: "شركات", seg_mobile_money_user: "مستخدمو موبايل موني", seg_partner: "شركاء",
  search_list: "ابحث في القائمة…", list_empty: "لا توجد قائمة أماكن على هذا الجهاز بعد: قم بالمزامنة مرة واحدة، أو اختر «أخرى».",
  app_name: "FieldVoice", language: "اللغة",
  enroll_title: "تسجيل هذا الجهاز",
  enroll_help: "أدخل عنوان الخادم والرمز الذي أعطاك إياه المنسق، أو الصق رابط رمز QR.",
  server_url: "عنوان الخادم", enroll_code: "رمز التسجيل", enroll_button: "تسجيل",
  new_interview: "مقابلة جديدة", search: "ابحث عن مدينة أو اسم أو كلمات…", no_interviews: "لا توجد مقابلات بعد.",
  back: "رجوع", coordinator_comments: "ملاحظات المنسق", reply: "ردّ…", send: "إرسال",
  submit: "إنهاء وإرسال", reopen: "إعادة الفتح للتصحيح", sync_title: "المزامنة", user: "المحاور",
  pending: "بانتظار المزامنة", last_sync: "آخر مزامنة", last_result: "آخر نتيجة", syncing: "جارٍ المزامنة…",
  sync_now: "زامن الآن", change_server: "تغيير عنوان الخادم", save: "حفظ",
  state_draft: "مسودة", state_waiting: "بانتظار المزامنة", state_synced: "تمت المزامنة", state_issues: "بها ملاحظات",
  filter_all: "الكل", never: "أبدًا", saving: "جارٍ الحفظ…", saved: "تم الحفظ", save_failed: "لم يُحفظ",
  badge_pending: "{n} للمزامنة", badge_ok: "متزامن", badge_offline: "غير متصل · {n}",
  err_required: "الإجابة مطلوبة.", err_out_of_range: "خارج النطاق: {detail}",
  err_pattern: "صيغة غير صحيحة: {detail}", err_too_long: "طويل جدًا: {detail}",
  err_wrong_type: "إجابة غير صالحة: {detail}", err_unknown_option: "خيار غير معروف",
  err_too_few_selected: "اختر المزيد: {detail}", err_too_many_selected: "اختر أقل: {detail}",
  err_date_out_of_range: "التاريخ خارج النطاق: {detail}", warn_not_relevant: "مخفي بسبب إجابة سابقة؛ سيتم تجاهله.",
  err_not_a_number: "أدخل عددًا صحيحًا.", err_not_a_decimal: "أدخل رقمًا.",
  err_constraint: "غير مقبول: {detail}", ack_ok: "موافق",
  yes: "نعم", no: "لا", gps_capture: "تحديد الموقع GPS", gps_capturing: "جارٍ تحديد الموقع…",
  gps_failed: "GPS غير متاح: أدخل الموقع يدويًا.", latitude: "خط العرض", longitude: "خط الطول",
  gps_save: "حفظ الموقع", today: "اليوم", repeat_add: "إضافة", choose_form: "أي استمارة؟", repeat_remove: "حذف", repeat_item: "{label} {n}", submitted_ok: "تم الإرسال. ستُرسل في المزامنة القادمة.",
  fix_errors: "{n} مشكلة يجب تصحيحها قبل الإرسال.", err_offline: "لا يوجد اتصال بالخادم. مقابلاتك محفوظة على هذا الجهاز.",
  err_unauthorized: "رفض الخادم هذا الجهاز. سجّله من جديد برمز جديد.",
  result_fmt: "أُرسل {sent}، وتأكد {ack}، واستُلم {recv} تغيير", interview: "مقابلة",
  consent_first: "اطلب الموافقة أولًا: تبدأ المقابلة بعد «نعم».",
  submitted_locked: "مُرسلة: أعد فتحها لتغيير الإجابات.", nps_low: "غير محتمل", nps_high: "محتمل جدًا",
  comment_you: "أنت",
};

const pt: Dict = {
  followup_title: "O seguimento do cliente", followup_open: "À espera de ser contactado", followup_contacted: "Contactado", followup_resolved: "Contactado, problema resolvido", followup_not_reachable: "Não foi possível contactar", followup_closed: "Seguimento encerrado", resolution_fixed: "corrigido", resolution_explained: "explicado", resolution_compensated: "compensado", resolution_escalated: "encaminhado", resolution_no_action_needed: "nenhuma ação necessária", resolution_other: "outro",
  my_place: "O meu local", seg_individual: "Particulares", seg_business: "Empresas", seg_mobile_money_user: "Utilizadores Mobile Money", seg_partner: "Parceiros",
  search_list: "Pesquisar na lista…", list_empty: "Ainda não há lista de locais neste aparelho: sincronize uma vez, ou escolha Outro.",
  app_name: "FieldVoice", language: "Idioma",
  enroll_title: "Registar este dispositivo",
  enroll_help: "Introduza o endereço do servidor e o código do seu coordenador, ou cole a ligação do código QR.",
  server_url: "Endereço do servidor", enroll_code: "Código de registo", enroll_button: "Registar",
  new_interview: "Nova entrevista", search: "Procurar cidade, nome, palavras…", no_interviews: "Ainda não há entrevistas.",
  back: "Voltar", coordinator_comments: "Comentários do coordenador", reply: "Responder…", send: "Enviar",
  submit: "Terminar e submeter", reopen: "Reabrir para corrigir", sync_title: "Sincronização", user: "Entrevistador",
  pending: "À espera de sincronizar", last_sync: "Última sincronização", last_result: "Último resultado", syncing: "A sincronizar…",
  sync_now: "Sincronizar agora", change_server: "Alterar o endereço do servidor", save: "Guardar",
  state_draft: "Rascunho", state_waiting: "À espera", state_synced: "Sincronizada", state_issues: "Com problemas",
  filter_all: "Todas", never: "nunca", saving: "A guardar…", saved: "Guardado", save_failed: "Não guardado",
  badge_pending: "{n} por enviar", badge_ok: "Sincronizado", badge_offline: "Offline · {n}",
  err_required: "É obrigatório responder.", err_out_of_range: "Fora do intervalo: {detail}",
  err_pattern: "Formato errado: {detail}", err_too_long: "Demasiado longo: {detail}",
  err_wrong_type: "Resposta inválida: {detail}", err_unknown_option: "Opção desconhecida",
  err_too_few_selected: "Escolha mais: {detail}", err_too_many_selected: "Escolha menos: {detail}",
  err_date_out_of_range: "Data fora do intervalo: {detail}", warn_not_relevant: "Oculta por uma resposta anterior; ignorada.",
  err_not_a_number: "Introduza um número inteiro.", err_not_a_decimal: "Introduza um número.",
  err_constraint: "Não aceite: {detail}", ack_ok: "OK",
  yes: "Sim", no: "Não", gps_capture: "Captar posição GPS", gps_capturing: "A localizar…",
  gps_failed: "GPS indisponível: introduza a posição à mão.", latitude: "Latitude", longitude: "Longitude",
  gps_save: "Guardar posição", today: "Hoje", repeat_add: "Adicionar", choose_form: "Qual formulário?", repeat_remove: "Remover", repeat_item: "{label} {n}", submitted_ok: "Submetida. Será enviada na próxima sincronização.",
  fix_errors: "{n} problema(s) a corrigir antes de submeter.", err_offline: "Sem ligação ao servidor. As suas entrevistas estão seguras neste dispositivo.",
  err_unauthorized: "O servidor recusou este dispositivo. Registe-o de novo com um novo código.",
  result_fmt: "{sent} enviadas, {ack} confirmadas, {recv} alterações recebidas", interview: "Entrevista",
  consent_first: "Peça primeiro o consentimento: a entrevista começa depois de um «Sim».",
  submitted_locked: "Submetida: reabra-a para alterar as respostas.", nps_low: "Pouco provável", nps_high: "Muito provável",
  comment_you: "Você",
};

const DICTS: Record<Lang, Dict> = { en, fr, ar, pt };

export function isLang(s: string | null | undefined): s is Lang {
  return !!s && (LANGS as string[]).includes(s);
}

/** Translate `key` in `lang` (English, then the key itself, as fallback), filling {vars}. */
export function t(lang: Lang, key: string, vars: Record<string, string | number> = {}): string {
  const text = DICTS[lang][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ""));
}

export function dirOf(lang: Lang): "rtl" | "ltr" {
  return lang === "ar" ? "rtl" : "ltr";
}
