"""Demo help centre: categories and published articles for `seed_demo`.

The articles are also the corpus of the labelled query set
(`bench/kb_queries.json`): change a title or body here and re-check the
labels there. Idempotent: existing titles are left alone.
"""

from typing import Any

# slug, name, description
CATEGORIES = [
    ("account", "Account and sign-in", "Passwords, two-factor authentication, profile and team members."),
    ("billing", "Billing and invoices", "Plans, payments, invoices, VAT and receipts."),
    ("orders", "Orders and delivery", "Placing, changing and tracking orders; shipping and addresses."),
    ("returns", "Returns and refunds", "Sending items back, refunds, exchanges and damaged goods."),
    ("integrations", "Integrations and API", "Webhooks, API keys, rate limits and connected apps."),
    ("importing", "Importing and exporting", "Moving data in and out: CSV, spreadsheets and backups."),
    ("troubleshooting", "Troubleshooting", "When something does not work as expected."),
]

# slug, category, title, tags, body (Markdown)
ARTICLES: list[tuple[str, str, str, str, str]] = [
    (
        "resetting-your-password",
        "account",
        "Resetting your password",
        "password login",
        "Forgot your password? Use **Forgot password** on the sign-in page and enter your email address. "
        "We send a reset link that is valid for 1 hour. If the email does not arrive, check your spam "
        "folder. After the reset you are signed out on every device.",
    ),
    (
        "change-your-email-address",
        "account",
        "Changing the email address of your account",
        "profile email",
        "Open **Profile → Email** and type the new address. We send a confirmation link to the new "
        "address; the change takes effect when you click it. Your sign-in name changes with it.",
    ),
    (
        "two-factor-authentication",
        "account",
        "Turning on two-factor authentication (2FA)",
        "security 2fa",
        "Protect your account with a second step at sign-in. Go to **Profile → Security**, choose "
        "*Authenticator app* and scan the QR code with Google Authenticator, 1Password or a similar app. "
        "Keep the recovery codes somewhere safe: you need them if you lose your phone.",
    ),
    (
        "account-locked",
        "account",
        "My account is locked after too many sign-in attempts",
        "login locked",
        "After ten failed sign-in attempts the account is locked for 15 minutes to protect it. Wait, "
        "then sign in again or reset your password. If you still cannot log in, contact support.",
    ),
    (
        "delete-your-account",
        "account",
        "Closing and deleting your account",
        "privacy gdpr",
        "You can close your account under **Profile → Delete account**. We keep invoices for the period "
        "the law requires and erase everything else within 30 days. Export your data first if you need it.",
    ),
    (
        "invite-team-members",
        "account",
        "Inviting team members and setting roles",
        "team users seats",
        "Admins invite colleagues under **Settings → Team**: enter their email and pick a role "
        "(member or admin). Each active member uses one seat of your plan. Remove people who leave to "
        "free the seat.",
    ),
    (
        "understanding-your-invoice",
        "billing",
        "Understanding your invoice",
        "invoice billing",
        "Each invoice lists the plan, the number of seats and taxes for the billing period. Invoices are "
        "issued on the first day of the period and can be downloaded as PDF under **Billing → Invoices**.",
    ),
    (
        "payment-methods",
        "billing",
        "Which payment methods are accepted",
        "payment card paypal",
        "We accept credit and debit cards (Visa, Mastercard, American Express), PayPal and SEPA direct "
        "debit. Annual plans can also pay by bank transfer against an invoice.",
    ),
    (
        "update-credit-card",
        "billing",
        "Updating the credit card on file",
        "payment card",
        "Go to **Billing → Payment method** and choose *Replace card*. The new card is used for the next "
        "charge; nothing is charged when you save it. Expired cards cause failed payments, so update it "
        "before the expiry date.",
    ),
    (
        "failed-payment",
        "billing",
        "What happens when a payment fails",
        "payment declined",
        "If a charge is declined we retry it after 3 and 7 days and email the billing contact. Update "
        "your card or pay the open invoice manually to avoid suspension of the account after 14 days.",
    ),
    (
        "vat-and-tax-id",
        "billing",
        "Adding your VAT number to invoices",
        "tax vat invoice",
        "Business customers in the EU can add a VAT ID under **Billing → Company details**. Invoices "
        "issued afterwards show the number and apply the reverse charge where it applies.",
    ),
    (
        "change-or-cancel-plan",
        "billing",
        "Upgrading, downgrading or cancelling your plan",
        "subscription plan",
        "Change your subscription under **Billing → Plan**. Upgrades apply immediately and are prorated; "
        "downgrades and cancellations take effect at the end of the current billing period.",
    ),
    (
        "download-receipts",
        "billing",
        "Downloading receipts for your payments",
        "receipt pdf",
        "A receipt is emailed after every successful payment. You can also download all receipts and "
        "invoices as PDF files from **Billing → Invoices**.",
    ),
    (
        "track-your-order",
        "orders",
        "Tracking your order",
        "shipping tracking",
        "As soon as your order ships we email a tracking number. Open **Orders**, pick the order and "
        "follow the carrier link to see where the parcel is.",
    ),
    (
        "delivery-times",
        "orders",
        "Delivery times and shipping costs",
        "shipping delivery",
        "Standard delivery takes 2 to 4 working days within the country and 5 to 10 days abroad. "
        "Express shipping arrives the next working day when ordered before 2 pm. Shipping is free on "
        "orders above 50 euros.",
    ),
    (
        "change-delivery-address",
        "orders",
        "Changing the delivery address of an order",
        "shipping address",
        "You can change the shipping address until the order is packed: open the order and choose "
        "*Edit address*. Once the parcel has shipped, ask the carrier to redirect it.",
    ),
    (
        "cancel-an-order",
        "orders",
        "Cancelling an order",
        "order cancel",
        "Orders can be cancelled from **Orders** until they are packed. The payment is released or "
        "refunded to the original payment method within 5 working days.",
    ),
    (
        "missing-items",
        "orders",
        "An item is missing from my parcel",
        "parcel missing",
        "Check whether the order was split into several shipments: each has its own tracking number. If "
        "an item is still missing, report it within 14 days from the order page and we send it again.",
    ),
    (
        "order-not-arrived",
        "orders",
        "My order has not arrived",
        "lost parcel delivery",
        "If the tracking shows the parcel as delivered but you did not receive it, check with neighbours "
        "and your building reception. Lost parcels are investigated with the carrier; we send a "
        "replacement or a refund after 10 working days.",
    ),
    (
        "return-an-item",
        "returns",
        "How to return an item",
        "return label",
        "You may send items back within 30 days. Start a return from **Orders → Return items**, print "
        "the prepaid return label and drop the parcel at any post office.",
    ),
    (
        "refund-timing",
        "returns",
        "When will I get my refund?",
        "refund money",
        "We refund to the original payment method within 5 working days after the returned parcel "
        "arrives at our warehouse. Card refunds can take a few more days to show on your statement.",
    ),
    (
        "damaged-item",
        "returns",
        "I received a damaged or faulty item",
        "damaged broken defective",
        "Sorry about that! Take a photo of the damage and report it from the order page within 14 days. "
        "We replace the item or refund it, and you do not pay for the return shipping.",
    ),
    (
        "exchange-size",
        "returns",
        "Exchanging an item for another size or colour",
        "exchange size",
        "Choose *Exchange* instead of *Return* when you start the return and pick the new size or "
        "colour. We ship the replacement as soon as the original is scanned by the carrier.",
    ),
    (
        "connecting-webhooks",
        "integrations",
        "Connecting webhooks",
        "webhooks integration",
        "Add an endpoint under **Settings → Webhooks** and choose the events to receive. We sign every "
        "payload with HMAC-SHA256; verify the signature header before trusting the body. Failed "
        "deliveries are retried with backoff for 24 hours.",
    ),
    (
        "api-keys",
        "integrations",
        "Creating and revoking API keys",
        "api token",
        "Create an API key under **Settings → API keys**. The key is shown once: store it in a secret "
        "manager. Send it as a bearer token in the Authorization header. Revoke keys you no longer use.",
    ),
    (
        "api-rate-limits",
        "integrations",
        "API rate limits",
        "api throttling 429",
        "Each API key may make 600 requests per minute. Above that the API answers with status 429 "
        "Too Many Requests and a Retry-After header saying how many seconds to wait.",
    ),
    (
        "slack-integration",
        "integrations",
        "Getting notifications in Slack",
        "slack notifications",
        "Connect Slack under **Settings → Integrations → Slack** and choose a channel. New requests and "
        "replies are posted there; you can mute a channel at any time.",
    ),
    (
        "export-orders-csv",
        "importing",
        "How to export your orders to CSV",
        "export csv",
        "Go to **Orders**, choose *Export* and pick CSV. The file contains one line per order with the "
        "date, items, totals and status. Large exports are emailed to you as a download link.",
    ),
    (
        "import-contacts",
        "importing",
        "Importing contacts from a spreadsheet",
        "import csv contacts",
        "Prepare a CSV or Excel file with one contact per row and a header line (name, email, phone). "
        "Upload it under **Contacts → Import**, map the columns and start the import. Duplicates are "
        "matched by email address.",
    ),
    (
        "import-errors",
        "importing",
        "Fixing errors in an import file",
        "import csv error",
        "If an import stops, the report lists each rejected row with its line number and the reason, "
        "for example an invalid email or a date in the wrong format. Fix those rows and upload the file "
        "again; rows already imported are skipped.",
    ),
    (
        "backup-your-data",
        "importing",
        "Downloading a backup of all your data",
        "backup export",
        "Admins can request a full export under **Settings → Data → Export everything**. We prepare a ZIP "
        "archive with all records and attachments and email a link when it is ready.",
    ),
    (
        "email-not-received",
        "troubleshooting",
        "Not receiving our emails",
        "email spam",
        "Check your spam or junk folder and add our sending address to your contacts. Company mail "
        "filters sometimes hold messages: ask your IT team to allow our domain.",
    ),
    (
        "app-is-slow",
        "troubleshooting",
        "The app is slow or does not load",
        "performance browser",
        "Reload the page and clear the browser cache. Make sure you use a current version of Chrome, "
        "Firefox, Safari or Edge. Check our status page for ongoing incidents before contacting support.",
    ),
    (
        "mobile-app-sync",
        "troubleshooting",
        "The mobile app does not sync",
        "mobile app ios android",
        "Pull down to refresh, then check that the phone is online and the app is up to date. Signing "
        "out and in again on iOS or Android forces a full sync.",
    ),
    (
        "contact-support",
        "troubleshooting",
        "How to contact our support team",
        "contact phone chat",
        "Send a request from the help centre and we answer within one working day. Phone support is "
        "available on business plans, Monday to Friday from 9:00 to 17:00.",
    ),
]

# The demo help centre's synonyms (editable on /kb/manage/synonyms/).
SYNONYMS = """\
refund, money back, reimbursement
invoice, bill
password, passcode
sign in, log in, login
parcel, package, shipment
cancel, terminate, unsubscribe
damaged, broken, defective, faulty
exchange, swap
api key, access token
rate limit, throttling
webhook, callback url
spreadsheet, excel, csv
vat id, vat number, tax number, tax id
two factor authentication, 2fa, two step verification, mfa
delete account, remove account, close account
team members, users, colleagues
"""


def seed_help_centre(*, manager: Any) -> int:
    """Create the demo categories and publish the demo articles (as
    `manager`); returns how many articles were created."""
    from knowledge_base import services as kb
    from knowledge_base.models import Article, Category

    categories = {}
    for position, (slug, name, description) in enumerate(CATEGORIES):
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            category = kb.category_create(
                name=name, slug=slug, description=description, position=position, actor=manager
            )
        categories[slug] = category
    from knowledge_base.models import SynonymGroup

    if not SynonymGroup.objects.exists():
        kb.synonyms_replace(text=SYNONYMS, actor=manager)
    created = 0
    for slug, category_slug, title, tags, body in ARTICLES:
        existing = Article.objects.filter(title=title).first()
        if existing is not None:
            if existing.category_id is None:  # demo databases seeded before categories existed
                kb.article_update(article_id=existing.pk, actor=manager, category=categories[category_slug])
            continue
        article = kb.article_create(
            title=title,
            body=body,
            actor=manager,
            slug=slug,
            category=categories[category_slug],
            tags=kb.parse_tags(tags),
        )
        kb.article_publish(article_id=article.pk, actor=manager)
        created += 1
    return created


# The categories the demo's open workload files articles under (seed_demo).
WORKLOAD_CATEGORIES = (
    ("getting-started", "Getting started", "First steps, accounts and passwords."),
    ("billing-and-plans", "Billing and plans", "Invoices, refunds, plan changes."),
    ("integrations-api", "Integrations and API", "Webhooks, API keys, SSO."),
    ("troubleshooting", "Troubleshooting", "When something does not work."),
)
ARTICLE_CATEGORY = {
    "How to export your orders to CSV": "troubleshooting",
    "Resetting your password": "getting-started",
    "Connecting webhooks": "integrations-api",
    "Understanding your invoice": "billing-and-plans",
}


def kb_categories_seed(*, manager: Any) -> int:
    """The demo's KB categories, added only where the slug is free; the
    demo articles without a category are filed in theirs."""
    from knowledge_base import services as kb
    from knowledge_base.models import Article, Category

    created = 0
    for position, (slug, name, description) in enumerate(WORKLOAD_CATEGORIES):
        if Category.objects.filter(slug=slug).exists() or manager is None:
            continue
        kb.category_create(name=name, slug=slug, description=description, position=position, actor=manager)
        created += 1
    by_slug = {c.slug: c for c in Category.objects.filter(slug__in=[c[0] for c in WORKLOAD_CATEGORIES])}
    for title, slug in ARTICLE_CATEGORY.items():
        if slug in by_slug:
            Article.objects.filter(title=title, category__isnull=True).update(category=by_slug[slug])
    return created
