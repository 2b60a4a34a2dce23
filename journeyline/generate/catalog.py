"""Static reference data for the synthetic B2B world: names, firms, channels, themes, copy.

Kept apart from the logic so the journeys read as behaviour and the vocabulary can be
tuned in one place; every collection is a tuple so iteration order is fixed.
"""

from __future__ import annotations

SEGMENTS: tuple[str, ...] = ("smb", "mid_market", "enterprise")
SEGMENT_WEIGHTS: tuple[float, ...] = (0.55, 0.30, 0.15)
# People per account: (sizes, weights) by segment.
ACCOUNT_SIZES: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "smb": ((1, 2, 3), (0.50, 0.35, 0.15)),
    "mid_market": ((2, 3, 4, 5, 6), (0.25, 0.25, 0.20, 0.15, 0.15)),
    "enterprise": ((3, 5, 8, 12, 15), (0.20, 0.25, 0.25, 0.20, 0.10)),
}
EMPLOYEES: dict[str, tuple[int, int]] = {
    "smb": (5, 200),
    "mid_market": (200, 2000),
    "enterprise": (2000, 80000),
}
# Deal sizes in whole currency units by segment.
DEAL_SIZES: dict[str, tuple[int, int]] = {
    "smb": (3000, 25000),
    "mid_market": (25000, 120000),
    "enterprise": (120000, 900000),
}

INDUSTRIES: tuple[str, ...] = (
    "software",
    "financial_services",
    "healthcare",
    "manufacturing",
    "retail",
    "logistics",
    "education",
    "media",
    "energy",
    "professional_services",
)

# country -> (region, currency, top-level domain, weight)
COUNTRIES: dict[str, tuple[str, str, str, float]] = {
    "US": ("americas", "USD", ".com", 0.45),
    "CA": ("americas", "CAD", ".ca", 0.07),
    "GB": ("emea", "GBP", ".co.uk", 0.14),
    "DE": ("emea", "EUR", ".de", 0.11),
    "FR": ("emea", "EUR", ".fr", 0.08),
    "NL": ("emea", "EUR", ".nl", 0.06),
    "AU": ("apac", "AUD", ".com.au", 0.09),
}
# The marketing automation platform each region runs on.
MARKETING_PLATFORM: dict[str, str] = {"americas": "hubspot", "emea": "marketo", "apac": "hubspot"}

PERSONAS: tuple[str, ...] = ("champion", "decision_maker", "end_user", "influencer")
PERSONA_WEIGHTS: tuple[float, ...] = (0.20, 0.15, 0.40, 0.25)
TITLES: dict[str, tuple[str, ...]] = {
    "champion": ("Head of Operations", "Director of Marketing Ops", "Revenue Operations Lead"),
    "decision_maker": ("VP Sales", "CFO", "COO", "CMO", "VP Customer Success"),
    "end_user": ("Marketing Specialist", "Sales Rep", "Support Agent", "Data Analyst"),
    "influencer": ("IT Manager", "Solutions Architect", "Security Engineer", "Procurement Lead"),
}
# Conversion multipliers by persona: buyers convert, end users mostly browse.
PERSONA_LIFT: dict[str, float] = {
    "champion": 1.25,
    "decision_maker": 1.35,
    "end_user": 0.70,
    "influencer": 0.95,
}

THEMES: tuple[str, ...] = (
    "cost_savings",
    "speed_to_value",
    "security",
    "ease_of_use",
    "integrations",
)
# The story each persona is most receptive to.
PERSONA_THEME: dict[str, str] = {
    "champion": "speed_to_value",
    "decision_maker": "cost_savings",
    "end_user": "ease_of_use",
    "influencer": "security",
}

# Channels that carry campaigns, and the inbound first-touch mix.
CAMPAIGN_CHANNELS: tuple[str, ...] = (
    "email",
    "web",
    "paid_search",
    "paid_social",
    "social",
    "event",
)
INBOUND_CHANNELS: tuple[str, ...] = (
    "paid_search",
    "organic_search",
    "paid_social",
    "social",
    "web",
    "referral",
)
INBOUND_WEIGHTS: tuple[float, ...] = (0.25, 0.25, 0.15, 0.10, 0.15, 0.10)
AD_NETWORKS: dict[str, tuple[str, ...]] = {
    "paid_search": ("google_ads", "bing_ads"),
    "paid_social": ("linkedin_ads", "meta_ads"),
}
SOCIAL_SITES: tuple[str, ...] = ("linkedin", "twitter", "youtube", "reddit")
SEARCH_ENGINES: tuple[str, ...] = ("google", "bing", "duckduckgo")
REFERRERS: tuple[str, ...] = ("g2.com", "capterra.com", "partner-blog.net", "medium.com")

SITE = "https://www.journeyline-demo.com"
PAGES: tuple[str, ...] = (
    "/",
    "/pricing",
    "/product",
    "/product/integrations",
    "/product/security",
    "/customers",
    "/blog/cutting-costs",
    "/blog/onboarding-in-a-week",
    "/blog/soc2",
    "/resources",
    "/docs/getting-started",
    "/about",
    "/careers",
    "/compare",
)
THEME_PAGES: dict[str, str] = {
    "cost_savings": "/solutions/cost-savings",
    "speed_to_value": "/solutions/time-to-value",
    "security": "/solutions/security",
    "ease_of_use": "/solutions/ease-of-use",
    "integrations": "/solutions/integrations",
}
APP_PAGES: tuple[str, ...] = ("/app/dashboard", "/app/reports", "/app/settings", "/app/journeys")

THEME_COPY: dict[str, str] = {
    "cost_savings": "Cut your tooling costs by 30%",
    "speed_to_value": "Live in a week, not a quarter",
    "security": "SOC 2 Type II and SSO out of the box",
    "ease_of_use": "So simple your whole team will use it",
    "integrations": "Connects to the 200 tools you already run",
}
CONTENT_ASSETS: dict[str, str] = {
    "cost_savings": "The TCO Calculator Guide",
    "speed_to_value": "30-Day Launch Playbook",
    "security": "Security Whitepaper",
    "ease_of_use": "Adoption Best Practices eBook",
    "integrations": "Integration Architecture Guide",
}
FORMS: tuple[str, ...] = ("demo_request", "contact_us", "trial_signup", "pricing_inquiry")
EVENTS: tuple[str, ...] = (
    "SaaStr Annual",
    "Dreamforce",
    "Web Summit",
    "RevOps Live",
    "CX Leaders Forum",
)

LEAD_SOURCES: dict[str, str] = {
    "inbound": "web",
    "event": "trade_show",
    "outbound": "outbound_prospecting",
    "referral": "customer_referral",
}
OPPORTUNITY_STAGES: tuple[str, ...] = (
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
)
LOSS_REASONS: tuple[str, ...] = (
    "price",
    "no_decision",
    "competitor",
    "timing",
    "missing_feature",
)
PLANS: dict[str, str] = {"smb": "starter", "mid_market": "growth", "enterprise": "enterprise"}
CHURN_REASONS: tuple[str, ...] = ("budget", "switched_vendor", "low_adoption", "acquired")
REVIEW_SITES: tuple[str, ...] = ("g2", "capterra", "trustradius")

TICKET_SUBJECTS: tuple[str, ...] = (
    "Cannot log in with SSO",
    "Import failed",
    "Question about invoice",
    "Integration sync delayed",
    "How do I add users?",
    "Report shows wrong totals",
    "API rate limit errors",
    "Feature request: export to CSV",
    "Password reset not arriving",
)
TICKET_PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
TICKET_PRIORITY_WEIGHTS: tuple[float, ...] = (0.25, 0.50, 0.20, 0.05)
TICKET_CHANNELS: tuple[str, ...] = ("email", "chat", "web", "phone")

SALES_REPS: tuple[str, ...] = tuple(f"rep_{i:02d}" for i in range(1, 13))
SUPPORT_AGENTS: tuple[str, ...] = tuple(f"agent_{i:02d}" for i in range(1, 21))
CSMS: tuple[str, ...] = tuple(f"csm_{i:02d}" for i in range(1, 7))

FIRST_NAMES: tuple[str, ...] = (
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "william",
    "elizabeth",
    "david",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "daniel",
    "nancy",
    "matthew",
    "lisa",
    "anthony",
    "betty",
    "mark",
    "sandra",
    "paul",
    "ashley",
    "steven",
    "kimberly",
    "andrew",
    "emily",
    "kenneth",
    "donna",
    "joshua",
    "michelle",
    "kevin",
    "carol",
    "brian",
    "amanda",
    "george",
    "melissa",
    "timothy",
    "deborah",
    "ronald",
    "stephanie",
    "jason",
    "rebecca",
    "priya",
    "wei",
    "fatima",
    "lukas",
    "sofia",
    "mateo",
    "aisha",
    "hiroshi",
    "ingrid",
    "pierre",
    "chloe",
    "noah",
    "emma",
    "liam",
    "olivia",
    "lena",
    "jonas",
    "camille",
    "hugo",
    "amelie",
    "raj",
    "ananya",
    "mei",
    "yusuf",
    "zara",
    "oscar",
    "freya",
    "felix",
    "clara",
    "marta",
    "diego",
    "lucia",
    "sven",
    "elena",
)
LAST_NAMES: tuple[str, ...] = (
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "mitchell",
    "carter",
    "roberts",
    "patel",
    "shah",
    "kim",
    "chen",
    "wang",
    "mueller",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "dubois",
    "moreau",
    "laurent",
    "bernard",
    "devries",
    "jansen",
    "bakker",
    "visser",
    "oconnor",
    "murphy",
    "kelly",
    "walsh",
    "tanaka",
    "suzuki",
    "sato",
    "ivanova",
    "novak",
    "kowalski",
    "silva",
    "santos",
    "costa",
    "rossi",
    "russo",
    "ferrari",
    "olsen",
    "hansen",
    "larsen",
    "berg",
)
COMPANY_PREFIXES: tuple[str, ...] = (
    "acme",
    "blue",
    "north",
    "quantum",
    "silver",
    "bright",
    "iron",
    "cedar",
    "nova",
    "summit",
    "pioneer",
    "atlas",
    "harbor",
    "lumen",
    "vertex",
    "orbit",
    "granite",
    "falcon",
    "maple",
    "crescent",
    "redwood",
    "polar",
    "zenith",
    "aurora",
    "cobalt",
    "delta",
    "ember",
    "fjord",
    "glacier",
    "helix",
    "indigo",
    "juniper",
    "kestrel",
    "lattice",
    "meridian",
    "nimbus",
    "onyx",
    "prairie",
    "quartz",
    "riverstone",
    "sable",
    "tidal",
    "umbra",
    "vanguard",
)
COMPANY_SUFFIXES: tuple[str, ...] = (
    "labs",
    "systems",
    "logistics",
    "health",
    "analytics",
    "foods",
    "energy",
    "robotics",
    "financial",
    "media",
    "works",
    "dynamics",
    "networks",
    "retail",
    "bio",
    "motors",
    "capital",
    "software",
    "partners",
    "group",
    "solutions",
    "industries",
    "digital",
    "cloud",
    "freight",
)
EXTRA_TLDS: tuple[str, ...] = (".io", ".ai", ".co", ".net")
PERSONAL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "icloud.com",
    "proton.me",
)
# Work e-mail local-part patterns, as a company's IT department chose them.
EMAIL_PATTERNS: tuple[str, ...] = ("first.last", "flast", "first", "first_last", "firstl")
# Shared mailboxes some companies file support tickets from (profile "messy").
SHARED_INBOXES: tuple[str, ...] = ("support", "it", "helpdesk", "ops")
# Typo'd domains people really type (profile "messy").
DOMAIN_TYPOS: dict[str, str] = {
    "gmail.com": "gmial.com",
    "outlook.com": "outlok.com",
    "yahoo.com": "yaho.com",
    "icloud.com": "icloud.co",
    "proton.me": "protonmail.me",
}

# Real US area codes; numbers drawn from them are checked with phonenumbers.
AREA_CODES: tuple[int, ...] = (
    201,
    206,
    212,
    213,
    303,
    305,
    310,
    312,
    404,
    408,
    415,
    425,
    469,
    503,
    512,
    602,
    617,
    646,
    650,
    702,
    713,
    720,
    786,
    801,
    818,
    857,
    917,
    919,
    949,
    971,
    978,
)

# Placeholder values real systems emit; all are blocked by the default identity config.
# (type, raw value) pairs: added beside real identifiers, they must never link anyone.
BLOCKED_EXTRAS: tuple[tuple[str, str], ...] = (
    ("email", "test@example.com"),
    ("email", " TEST@example.com "),
    ("email", "noreply@example.com"),
    ("email", "null@null.com"),
    ("user_id", "undefined"),
    ("user_id", "0"),
    ("user_id", "null"),
    ("user_id", "00000000"),
    ("anonymous_id", "00000000-0000-0000-0000-000000000000"),
    ("anonymous_id", "undefined"),
    ("lead_id", "n/a"),
    ("contact_id", "0"),
    ("ticket_requester_id", "-1"),
)
# Identifier maps with nothing but blocked values: the line must be quarantined.
BLOCKED_ONLY: tuple[dict[str, str], ...] = (
    {},
    {"email": "test@example.com"},
    {"user_id": "0"},
    {"anonymous_id": "undefined"},
    {"email": " Test@Example.com ", "user_id": "null"},
    {"ticket_requester_id": "00000000"},
)
