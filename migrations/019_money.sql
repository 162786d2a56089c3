-- Money (issue 26): the price book, quotes the customer approves, invoices numbered without gaps
-- and immutable once issued, payments against them (on site or by the provider's webhook), and the
-- claims of warranty work on the paying party, by period. Amounts are integer minor units of the
-- business's currency; rates are basis points (2000 = 20 %).

-- The business's money settings: one row per business (FieldFix runs one, 'main').
CREATE TABLE money_settings (
    business                 text PRIMARY KEY,
    currency                 text    NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    tax_rate_bp              integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    -- a paid visit done without an approved quote (declined, or none) is charged the call-out fee
    call_out_without_quote   boolean NOT NULL DEFAULT true,
    -- a quote made before the visit whose total reaches this is sent to the customer ahead
    quote_send_ahead_minor   bigint  NOT NULL DEFAULT 0 CHECK (quote_send_ahead_minor >= 0),
    -- warranty travel allowance: [{"up_to_km": 10, "amount_minor": 1500}, ...] by distance band
    travel_bands             jsonb   NOT NULL DEFAULT '[]',
    version                  integer NOT NULL DEFAULT 1,
    updated_at               timestamptz NOT NULL DEFAULT now()
);
INSERT INTO money_settings (business, currency, tax_rate_bp) VALUES ('main', 'EUR', 2000);

-- The price book: what a line of a quote, invoice or claim may say, by code.
CREATE TABLE price_items (
    id                  bigserial PRIMARY KEY,
    business            text    NOT NULL REFERENCES money_settings (business),
    code                text    NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    kind                text    NOT NULL CHECK (kind IN ('call_out', 'labour', 'service', 'part')),
    trade               text    NOT NULL DEFAULT '',  -- a skill; '' for every trade
    tier                text    NOT NULL DEFAULT '' CHECK (tier IN ('', 'paid', 'warranty')),
    name                text    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    sku                 text,                          -- parts: the sku a visit reports
    price_minor         bigint  NOT NULL CHECK (price_minor BETWEEN 0 AND 100000000000),
    after_hours_minor   bigint CHECK (after_hours_minor BETWEEN 0 AND 100000000000), -- evenings and weekends
    cost_minor          bigint CHECK (cost_minor BETWEEN 0 AND 100000000000),        -- parts at cost (warranty claims)
    tax_rate_bp         integer CHECK (tax_rate_bp BETWEEN 0 AND 10000),              -- the business's when null
    active              boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    UNIQUE (business, code)
);
CREATE UNIQUE INDEX price_items_sku ON price_items (business, sku) WHERE sku IS NOT NULL;

-- Quotes: options (one, or good/better/best) of lines priced from the book when made, frozen.
CREATE TABLE quotes (
    id                bigserial PRIMARY KEY,
    business          text        NOT NULL REFERENCES money_settings (business),
    booking_id        bigint      NOT NULL REFERENCES bookings (id),
    job_id            bigint      NOT NULL REFERENCES jobs (id),
    status            text        NOT NULL CHECK (status IN ('sent', 'approved', 'declined')),
    currency          text        NOT NULL,
    options           jsonb       NOT NULL, -- [{key, label, lines, net_minor, tax_minor, total_minor, taxes}]
    sent_ahead        boolean     NOT NULL DEFAULT false,
    created_by_sub    text        NOT NULL,
    created_by_role   text        NOT NULL,
    created_at        timestamptz NOT NULL,
    decided_at        timestamptz,
    decided_by_sub    text,
    decided_by_role   text,
    approved_option   text,
    approved_total_minor bigint,
    text_seen         text,       -- the option's text as the customer was shown it
    decline_reason    text,
    version           integer     NOT NULL DEFAULT 1,
    CHECK ((status = 'sent') = (decided_at IS NULL))
);
-- One quote waits for the customer's answer per booking at a time.
CREATE UNIQUE INDEX quotes_one_open ON quotes (booking_id) WHERE status = 'sent';
CREATE INDEX quotes_booking ON quotes (booking_id);

-- The counter of each numbering series (invoices, credit notes) per business and year: the row is
-- updated in the issuing transaction, so a number is used exactly when the document commits.
CREATE TABLE document_counters (
    business text    NOT NULL,
    series   text    NOT NULL,
    year     integer NOT NULL,
    last     integer NOT NULL,
    PRIMARY KEY (business, series, year)
);

-- Invoices and credit notes: immutable once issued (the trigger below refuses any change).
CREATE TABLE invoices (
    id                 bigserial PRIMARY KEY,
    business           text        NOT NULL REFERENCES money_settings (business),
    kind               text        NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    number             text        NOT NULL,
    year               integer     NOT NULL,
    seq                integer     NOT NULL,
    booking_id         bigint      NOT NULL REFERENCES bookings (id),
    job_id             bigint      REFERENCES jobs (id),
    customer_id        bigint      NOT NULL REFERENCES customers (id),
    credits_invoice_id bigint      REFERENCES invoices (id),
    currency           text        NOT NULL,
    lines              jsonb       NOT NULL,
    taxes              jsonb       NOT NULL,
    net_minor          bigint      NOT NULL CHECK (net_minor >= 0),
    tax_minor          bigint      NOT NULL CHECK (tax_minor >= 0),
    total_minor        bigint      NOT NULL CHECK (total_minor >= 0),
    quote_ids          bigint[]    NOT NULL DEFAULT '{}',
    on_site_minutes    integer,
    reason             text        NOT NULL DEFAULT '',
    issued_at          timestamptz NOT NULL,
    issued_by_sub      text        NOT NULL,
    UNIQUE (business, kind, year, seq),
    UNIQUE (business, number),
    CHECK ((kind = 'credit_note') = (credits_invoice_id IS NOT NULL)),
    CHECK (total_minor = net_minor + tax_minor)
);
-- One invoice per visit.
CREATE UNIQUE INDEX invoices_one_per_job ON invoices (job_id) WHERE kind = 'invoice';
CREATE INDEX invoices_credits ON invoices (credits_invoice_id) WHERE credits_invoice_id IS NOT NULL;
CREATE INDEX invoices_booking ON invoices (booking_id);

CREATE FUNCTION money_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% % is immutable once issued', TG_TABLE_NAME, OLD.id USING ERRCODE = '55000';
END $$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices FOR EACH ROW EXECUTE FUNCTION money_refuse_change();

-- Payments against invoices: recorded, never changed (a refund is a credit note and its payment).
CREATE TABLE payments (
    id            bigserial PRIMARY KEY,
    invoice_id    bigint      NOT NULL REFERENCES invoices (id),
    method        text        NOT NULL CHECK (method IN ('card_on_site', 'transfer', 'cash', 'online')),
    amount_minor  bigint      NOT NULL CHECK (amount_minor > 0),
    reference     text        NOT NULL DEFAULT '',
    event_id      text UNIQUE,  -- the provider's event (webhook): seen once
    received_at   timestamptz NOT NULL,
    recorded_by_sub  text     NOT NULL,
    recorded_by_role text     NOT NULL
);
CREATE INDEX payments_invoice ON payments (invoice_id);
CREATE TRIGGER payments_immutable BEFORE UPDATE OR DELETE ON payments FOR EACH ROW EXECUTE FUNCTION money_refuse_change();

-- Provider events seen (replay safety), accepted or not.
CREATE TABLE payment_events (
    event_id    text PRIMARY KEY,
    received_at timestamptz NOT NULL,
    invoice_id  bigint REFERENCES invoices (id),
    outcome     text NOT NULL
);

-- Warranty settlement: one claim per completed warranty visit on the party that pays for it.
CREATE TABLE settlement_periods (
    business   text        NOT NULL,
    period     text        NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    closed_at  timestamptz NOT NULL,
    closed_by  text        NOT NULL,
    PRIMARY KEY (business, period)
);

CREATE TABLE settlement_claims (
    id              bigserial PRIMARY KEY,
    business        text        NOT NULL REFERENCES money_settings (business),
    period          text        NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    party           text        NOT NULL,
    booking_id      bigint      NOT NULL REFERENCES bookings (id),
    job_id          bigint      NOT NULL REFERENCES jobs (id),
    technician_id   bigint      REFERENCES technicians (id),
    currency        text        NOT NULL,
    lines           jsonb       NOT NULL,
    labour_minor    bigint      NOT NULL CHECK (labour_minor >= 0),
    parts_minor     bigint      NOT NULL CHECK (parts_minor >= 0),
    travel_minor    bigint      NOT NULL CHECK (travel_minor >= 0),
    total_minor     bigint      NOT NULL CHECK (total_minor = labour_minor + parts_minor + travel_minor),
    on_site_minutes integer     NOT NULL,
    distance_km     double precision NOT NULL,
    status          text        NOT NULL CHECK (status IN ('submitted', 'rejected')),
    reject_reason   text,
    resubmissions   integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         integer     NOT NULL DEFAULT 1,
    CHECK ((status = 'rejected') = (reject_reason IS NOT NULL))
);
CREATE UNIQUE INDEX settlement_claims_job ON settlement_claims (job_id);
CREATE INDEX settlement_claims_period ON settlement_claims (business, period, party);

-- A claim of a closed period changes no more, and none is added to it.
CREATE FUNCTION money_refuse_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settlement_periods p WHERE p.business = OLD.business AND p.period = OLD.period) THEN
        RAISE EXCEPTION 'settlement period % is closed', OLD.period USING ERRCODE = '55000';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER settlement_claims_closed BEFORE UPDATE OR DELETE ON settlement_claims FOR EACH ROW EXECUTE FUNCTION money_refuse_closed_period();
CREATE FUNCTION money_refuse_closed_period_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM settlement_periods p WHERE p.business = NEW.business AND p.period = NEW.period) THEN
        RAISE EXCEPTION 'settlement period % is closed', NEW.period USING ERRCODE = '55000';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER settlement_claims_closed_insert BEFORE INSERT ON settlement_claims FOR EACH ROW EXECUTE FUNCTION money_refuse_closed_period_insert();
