-- name: MoneySettingsGet :one
SELECT * FROM money_settings WHERE business = $1;

-- name: MoneySettingsLock :one
SELECT * FROM money_settings WHERE business = $1 FOR UPDATE;

-- name: MoneySettingsSave :one
UPDATE money_settings
SET currency = sqlc.arg(currency), tax_rate_bp = sqlc.arg(tax_rate_bp), call_out_without_quote = sqlc.arg(call_out_without_quote),
    quote_send_ahead_minor = sqlc.arg(quote_send_ahead_minor), travel_bands = sqlc.arg(travel_bands),
    updated_at = sqlc.arg(updated_at), version = version + 1
WHERE business = sqlc.arg(business)
RETURNING *;

-- name: PriceItemList :many
SELECT * FROM price_items WHERE business = $1 ORDER BY kind, trade, tier, code;

-- name: PriceItemUpsert :one
INSERT INTO price_items (business, code, kind, trade, tier, name, sku, price_minor, after_hours_minor, cost_minor, tax_rate_bp,
                         active, created_at, updated_at)
VALUES (sqlc.arg(business), sqlc.arg(code), sqlc.arg(kind), sqlc.arg(trade), sqlc.arg(tier), sqlc.arg(name), sqlc.narg(sku),
        sqlc.arg(price_minor), sqlc.narg(after_hours_minor), sqlc.narg(cost_minor), sqlc.narg(tax_rate_bp), sqlc.arg(active),
        sqlc.arg(created_at), sqlc.arg(created_at))
ON CONFLICT (business, code) DO UPDATE
SET kind = EXCLUDED.kind, trade = EXCLUDED.trade, tier = EXCLUDED.tier, name = EXCLUDED.name, sku = EXCLUDED.sku,
    price_minor = EXCLUDED.price_minor, after_hours_minor = EXCLUDED.after_hours_minor, cost_minor = EXCLUDED.cost_minor,
    tax_rate_bp = EXCLUDED.tax_rate_bp, active = EXCLUDED.active, updated_at = EXCLUDED.updated_at
RETURNING *;

-- No row when the booking has a quote waiting for an answer already (quotes_one_open).
-- name: QuoteInsert :one
INSERT INTO quotes (business, booking_id, job_id, status, currency, options, sent_ahead, created_by_sub, created_by_role, created_at)
VALUES (sqlc.arg(business), sqlc.arg(booking_id), sqlc.arg(job_id), 'sent', sqlc.arg(currency), sqlc.arg(options),
        sqlc.arg(sent_ahead), sqlc.arg(created_by_sub), sqlc.arg(created_by_role), sqlc.arg(created_at))
ON CONFLICT (booking_id) WHERE status = 'sent' DO NOTHING
RETURNING *;

-- name: QuoteOpenFor :one
SELECT id FROM quotes WHERE booking_id = $1 AND status = 'sent';

-- name: QuoteGet :one
SELECT * FROM quotes WHERE id = $1;

-- name: QuoteLock :one
SELECT * FROM quotes WHERE id = $1 FOR UPDATE;

-- name: QuoteDecide :one
UPDATE quotes
SET status = sqlc.arg(status), decided_at = sqlc.arg(decided_at), decided_by_sub = sqlc.arg(decided_by_sub),
    decided_by_role = sqlc.arg(decided_by_role), approved_option = sqlc.narg(approved_option),
    approved_total_minor = sqlc.narg(approved_total_minor), text_seen = sqlc.narg(text_seen),
    decline_reason = sqlc.narg(decline_reason), version = version + 1
WHERE id = sqlc.arg(id) AND status = 'sent'
RETURNING *;

-- name: QuotesOfBooking :many
SELECT * FROM quotes WHERE booking_id = $1 ORDER BY id;

-- The counter of a series for a year, advanced in the caller's transaction: the row stays
-- locked until it ends, so concurrent issuers take numbers one after the other and a rolled-back
-- issue gives its number back.
-- name: DocumentCounterNext :one
INSERT INTO document_counters (business, series, year, last)
VALUES ($1, $2, $3, 1)
ON CONFLICT (business, series, year) DO UPDATE SET last = document_counters.last + 1
RETURNING last;

-- name: InvoiceInsert :one
INSERT INTO invoices (business, kind, number, year, seq, booking_id, job_id, customer_id, credits_invoice_id, currency, lines, taxes,
                      net_minor, tax_minor, total_minor, quote_ids, on_site_minutes, reason, issued_at, issued_by_sub)
VALUES (sqlc.arg(business), sqlc.arg(kind), sqlc.arg(number), sqlc.arg(year), sqlc.arg(seq), sqlc.arg(booking_id), sqlc.narg(job_id),
        sqlc.arg(customer_id), sqlc.narg(credits_invoice_id), sqlc.arg(currency), sqlc.arg(lines), sqlc.arg(taxes),
        sqlc.arg(net_minor), sqlc.arg(tax_minor), sqlc.arg(total_minor), sqlc.arg(quote_ids), sqlc.narg(on_site_minutes),
        sqlc.arg(reason), sqlc.arg(issued_at), sqlc.arg(issued_by_sub))
RETURNING id;

-- name: InvoiceGet :one
SELECT i.*, c.subject AS customer_subject,
       COALESCE((SELECT sum(p.amount_minor) FROM payments p WHERE p.invoice_id = i.id), 0)::bigint AS paid_minor,
       COALESCE((SELECT sum(n.total_minor) FROM invoices n WHERE n.credits_invoice_id = i.id), 0)::bigint AS credited_minor,
       ARRAY(SELECT n.id FROM invoices n WHERE n.credits_invoice_id = i.id ORDER BY n.id)::bigint[] AS credit_note_ids
FROM invoices i JOIN customers c ON c.id = i.customer_id
WHERE i.id = $1;

-- Locks the invoice's row (no change: invoices are immutable) so that payments and credit notes
-- against it are decided one at a time.
-- name: InvoiceLock :exec
SELECT 1 FROM invoices WHERE id = $1 FOR UPDATE;

-- name: InvoiceList :many
SELECT i.*, c.subject AS customer_subject,
       COALESCE((SELECT sum(p.amount_minor) FROM payments p WHERE p.invoice_id = i.id), 0)::bigint AS paid_minor,
       COALESCE((SELECT sum(n.total_minor) FROM invoices n WHERE n.credits_invoice_id = i.id), 0)::bigint AS credited_minor,
       ARRAY(SELECT n.id FROM invoices n WHERE n.credits_invoice_id = i.id ORDER BY n.id)::bigint[] AS credit_note_ids
FROM invoices i JOIN customers c ON c.id = i.customer_id
WHERE i.business = sqlc.arg(business)
  AND (sqlc.narg(customer_id)::bigint IS NULL OR i.customer_id = sqlc.narg(customer_id))
  AND (sqlc.narg(booking_id)::bigint IS NULL OR i.booking_id = sqlc.narg(booking_id))
  AND (sqlc.arg(before)::bigint = 0 OR i.id < sqlc.arg(before))
ORDER BY i.id DESC
LIMIT sqlc.arg(max_rows);

-- name: PaymentsOf :many
SELECT * FROM payments WHERE invoice_id = $1 ORDER BY id;

-- name: PaymentInsert :one
INSERT INTO payments (invoice_id, method, amount_minor, reference, event_id, received_at, recorded_by_sub, recorded_by_role)
VALUES (sqlc.arg(invoice_id), sqlc.arg(method), sqlc.arg(amount_minor), sqlc.arg(reference), sqlc.narg(event_id),
        sqlc.arg(received_at), sqlc.arg(recorded_by_sub), sqlc.arg(recorded_by_role))
RETURNING *;

-- No row when the event was seen already.
-- name: PaymentEventInsert :one
INSERT INTO payment_events (event_id, received_at, invoice_id, outcome)
VALUES ($1, $2, $3, $4)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id;

-- name: ClaimInsert :one
INSERT INTO settlement_claims (business, period, party, booking_id, job_id, technician_id, currency, lines, labour_minor, parts_minor,
                               travel_minor, total_minor, on_site_minutes, distance_km, status, created_at, updated_at)
VALUES (sqlc.arg(business), sqlc.arg(period), sqlc.arg(party), sqlc.arg(booking_id), sqlc.arg(job_id), sqlc.narg(technician_id),
        sqlc.arg(currency), sqlc.arg(lines), sqlc.arg(labour_minor), sqlc.arg(parts_minor), sqlc.arg(travel_minor),
        sqlc.arg(total_minor), sqlc.arg(on_site_minutes), sqlc.arg(distance_km), 'submitted', sqlc.arg(created_at), sqlc.arg(created_at))
RETURNING *;

-- name: ClaimGet :one
SELECT * FROM settlement_claims WHERE id = $1;

-- name: ClaimLock :one
SELECT * FROM settlement_claims WHERE id = $1 FOR UPDATE;

-- name: ClaimSave :one
UPDATE settlement_claims
SET period = sqlc.arg(period), lines = sqlc.arg(lines), labour_minor = sqlc.arg(labour_minor), parts_minor = sqlc.arg(parts_minor),
    travel_minor = sqlc.arg(travel_minor), total_minor = sqlc.arg(total_minor), status = sqlc.arg(status),
    reject_reason = sqlc.narg(reject_reason), resubmissions = sqlc.arg(resubmissions), updated_at = sqlc.arg(updated_at),
    version = version + 1
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: ClaimList :many
SELECT * FROM settlement_claims
WHERE business = sqlc.arg(business) AND period = sqlc.arg(period)
  AND (sqlc.arg(party)::text = '' OR party = sqlc.arg(party))
ORDER BY party, id;

-- No row when the period is closed already. Once closed, no claim is added to or changed in it
-- (the triggers of settlement_claims).
-- name: SettlementPeriodClose :one
INSERT INTO settlement_periods (business, period, closed_at, closed_by)
VALUES ($1, $2, $3, $4)
ON CONFLICT (business, period) DO NOTHING
RETURNING closed_at;

-- name: SettlementPeriodClosedAt :one
SELECT closed_at FROM settlement_periods WHERE business = $1 AND period = $2;

-- name: PurchaseBrand :one
SELECT brand FROM purchases WHERE id = $1;

-- The money KPIs of [from, to): paid visits completed, invoices and credit notes issued, payments
-- received, quotes answered, warranty claims made and still submitted.
-- name: MoneyKPIs :one
SELECT
    (SELECT count(*) FROM jobs j JOIN bookings b ON b.id = j.booking_id
     WHERE j.status = 'completed' AND b.tier = 'paid' AND j.finished_at >= sqlc.arg(from_at)::timestamptz AND j.finished_at < sqlc.arg(to_at)::timestamptz)::bigint AS paid_visits,
    (SELECT count(*) FROM invoices WHERE business = sqlc.arg(biz)::text AND kind = 'invoice' AND issued_at >= sqlc.arg(from_at) AND issued_at < sqlc.arg(to_at))::bigint AS invoices,
    COALESCE((SELECT sum(net_minor) FROM invoices WHERE business = sqlc.arg(biz)::text AND kind = 'invoice' AND issued_at >= sqlc.arg(from_at) AND issued_at < sqlc.arg(to_at)), 0)::bigint AS invoiced_net_minor,
    COALESCE((SELECT sum(total_minor) FROM invoices WHERE business = sqlc.arg(biz)::text AND kind = 'invoice' AND issued_at >= sqlc.arg(from_at) AND issued_at < sqlc.arg(to_at)), 0)::bigint AS invoiced_total_minor,
    COALESCE((SELECT sum(net_minor) FROM invoices WHERE business = sqlc.arg(biz)::text AND kind = 'credit_note' AND issued_at >= sqlc.arg(from_at) AND issued_at < sqlc.arg(to_at)), 0)::bigint AS credited_net_minor,
    COALESCE((SELECT sum(p.amount_minor) FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE i.business = sqlc.arg(biz)::text AND p.received_at >= sqlc.arg(from_at) AND p.received_at < sqlc.arg(to_at)), 0)::bigint AS received_minor,
    (SELECT count(*) FROM quotes WHERE business = sqlc.arg(biz)::text AND status = 'approved' AND decided_at >= sqlc.arg(from_at) AND decided_at < sqlc.arg(to_at))::bigint AS quotes_approved,
    (SELECT count(*) FROM quotes WHERE business = sqlc.arg(biz)::text AND status = 'declined' AND decided_at >= sqlc.arg(from_at) AND decided_at < sqlc.arg(to_at))::bigint AS quotes_declined,
    (SELECT count(*) FROM settlement_claims WHERE business = sqlc.arg(biz)::text AND status = 'submitted' AND created_at >= sqlc.arg(from_at) AND created_at < sqlc.arg(to_at))::bigint AS claims,
    COALESCE((SELECT sum(total_minor) FROM settlement_claims WHERE business = sqlc.arg(biz)::text AND status = 'submitted' AND created_at >= sqlc.arg(from_at) AND created_at < sqlc.arg(to_at)), 0)::bigint AS claimed_minor;
