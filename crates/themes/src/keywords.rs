//! The default codebook's key terms: words and short phrases customers use
//! for each theme, per language, written from how telecom customers talk
//! (not from any evaluation set). They give the classifier one feature per
//! theme shared by all four languages, so a few coded examples in French
//! already help with Arabic. Coordinators edit them with the codebook.

/// (code, fr, en, ar, pt), each a `|`-separated list.
pub const DEFAULT_KEYWORDS: [(&str, &str, &str, &str, &str); 10] = [
    (
        "network_coverage",
        "réseau|signal|couverture|capte|capter|antenne|coupure|coupe|zone blanche|barre|appel coupé|ne passe pas|injoignable|pylône",
        "network|signal|coverage|reception|tower|antenna|bars|dropped call|calls drop|no service|dead zone|unreachable|outage",
        "شبكة|ارسال|تغطية|ريزو|انقطاع|تنقطع|برج|لاقط|الخط مقطوع",
        "rede|sinal|cobertura|antena|sem rede|chamada cai|chamadas caem|torre|fora de área",
    ),
    (
        "data_speed",
        "internet|connexion|débit|lent|lente|3g|4g|5g|data|données|chargement|charge pas|whatsapp|facebook|youtube|vidéo|navigation",
        "internet|data|slow|speed|3g|4g|5g|loading|buffering|whatsapp|facebook|youtube|video|browsing|mbps|connection",
        "انترنت|النت|بطيء|بطيئ|سرعة|4g|3g|تحميل|واتساب|فيسبوك|يوتيوب|فيديو|كونكسيون",
        "internet|dados|lenta|lento|velocidade|3g|4g|carregar|whatsapp|facebook|youtube|vídeo|conexão|net",
    ),
    (
        "price",
        "cher|chère|chers|prix|tarif|coût|coute|coûte|augmentation|augmenté|hausse|abordable|moins cher|frais|concurrent",
        "expensive|price|prices|cost|costly|tariff|afford|cheaper|rates|fees|increase|competitor",
        "غالي|غالية|سعر|اسعار|تكلفة|رسوم|مكلف|زيادة|ارخص|الغلاء",
        "caro|cara|caros|preço|preços|tarifa|custo|custa|barato|taxa|taxas|aumento|concorrente",
    ),
    (
        "mobile_money",
        "mobile money|orange money|momo|transfert|transaction|retrait|dépôt|portefeuille|envoi d'argent|code secret|paiement|marchand",
        "mobile money|momo|transfer|transaction|withdraw|withdrawal|deposit|wallet|send money|sent money|pin|payment|merchant|reversal|cash out",
        "تحويل|محفظة|سحب|ايداع|دفع|معاملة|موبايل موني|كاش|الرقم السري",
        "transferência|transferir|carteira|levantamento|depósito|saque|pagamento|dinheiro móvel|mobile money|transação|pin|enviar dinheiro",
    ),
    (
        "shops_agents",
        "agence|boutique|agent|guichet|kiosque|point de vente|file|queue|vendeur|vendeuse|horaires|fermé|fermée",
        "shop|store|agent|agents|kiosk|branch|counter|queue|line|staff|opening hours|closed|outlet|dealer",
        "وكالة|محل|وكيل|كشك|طابور|الصف|الموظف|الفرع|مغلق|مسكر",
        "loja|agente|agentes|quiosque|balcão|fila|funcionários|horário|fechada|fechado|agência|ponto de venda",
    ),
    (
        "call_centre",
        "service client|centre d'appel|numéro vert|conseiller|conseillère|hotline|serveur vocal|tapez|réclamation|le 121|personne ne répond",
        "customer care|customer service|call centre|call center|hotline|helpline|adviser|advisor|on hold|ivr|press 1|complaint|nobody answers",
        "خدمة العملاء|خدمة الزبائن|مركز الاتصال|الرقم الأخضر|مستشار|على الخط|شكوى|كول سنتر|لا احد يرد",
        "apoio ao cliente|serviço de clientes|serviço ao cliente|call center|linha de apoio|operador|reclamação|espera na linha|ninguém atende",
    ),
    (
        "billing",
        "facture|facturation|crédit|unités|prélevé|prélèvement|débité|consommé|consommation|mégas|sans raison|disparu|double",
        "bill|billing|invoice|charged|deducted|deduction|airtime|credit|double charge|consumed|disappeared|balance|without my consent",
        "فاتورة|الفوترة|خصم|خصموا|اقتطاع|رصيد|اشتراك|مزدوج|استهلاك|الميغا|اختفى",
        "fatura|faturação|cobrança|cobrado|cobraram|descontado|descontaram|saldo|crédito|consumo|megas|sumiu|desapareceu",
    ),
    (
        "sim_device",
        "sim|puce|carte sim|puk|identification|enregistrement|téléphone|portable|smartphone|appareil|modem|routeur|box|bloquée|remplacement|duplicata",
        "sim|sim card|puk|registration|phone|handset|smartphone|device|router|modem|mifi|blocked|swap|replacement|esim",
        "شريحة|سيم|بوك|تسجيل|هاتف|جهاز|راوتر|مودم|محظورة|مقفلة|استبدال|تلفون",
        "sim|cartão sim|chip|puk|registo|registro|telemóvel|celular|telefone|aparelho|router|roteador|modem|bloqueado|bloqueada|substituição",
    ),
    (
        "offers",
        "forfait|forfaits|pass|offre|offres|promotion|promo|bonus|fidélité|points|étudiant|jeunes|famille|illimité|expire|validité",
        "bundle|bundles|package|plan|offer|offers|promotion|promo|bonus|loyalty|points|student|youth|family|unlimited|expire|expiry|validity",
        "باقة|باقات|عرض|عروض|تخفيض|بونص|مكافأة|نقاط|الولاء|طلاب|الشباب|العائلة|صلاحية|تنتهي",
        "pacote|pacotes|plano|oferta|ofertas|promoção|bónus|bônus|fidelidade|pontos|estudante|jovens|família|ilimitado|validade|expira",
    ),
    (
        "praise",
        "merci|satisfait|satisfaite|content|contente|bravo|excellent|super|parfait|continuez|félicitations|meilleur|génial|bon service|rien à signaler",
        "thank|thanks|satisfied|happy|great|excellent|good job|keep it up|well done|love|best|perfect|amazing|no complaints|good service",
        "شكرا|ممتاز|ممتازة|راضي|راضية|سعيد|احسن|أفضل|برافو|مشكورين|يعطيكم|رائع|زوين|كويس|تمام",
        "obrigado|obrigada|satisfeito|satisfeita|contente|parabéns|excelente|ótimo|perfeito|continuem|melhor|bom serviço|adoro|muito bom",
    ),
];
