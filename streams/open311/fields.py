"""The form fields of GeoReport v2's POSTs, as the platform takes them."""

# POST requests: form field → the submission's field (address_string and the rest keep their Open311 names).
REQUEST_FIELDS = ("jurisdiction_id", "service_code", "lat", "long", "address_string", "address_id", "email",
                  "device_id", "account_id", "first_name", "last_name", "phone", "description", "media_url",
                  "idempotency_key", "language")  # the last two: civicflow extensions
CREDENTIALS = ("api_key",)

# POST servicerequestupdates (FixMyStreet's extension).
UPDATE_FIELDS = ("jurisdiction_id", "service_request_id", "status", "updated_datetime", "description", "update_id",
                 "media_url", "agency", "to_agency", "duplicate_of")
# FixMyStreet also posts who wrote the update: accepted, never read or forwarded.
UPDATE_IGNORED = ("email", "first_name", "last_name", "phone", "title", "account_id", "service_code", "device_id",
                  "public_anonymity_required", "email_alerts_requested", "service_request_id_ext", "nsg_ref")
