//! Diesel schema shared by SQLite and PostgreSQL (see migrations/).

diesel::table! {
    orgs (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
        deactivated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    org_keys (org_id, kind, version) {
        org_id -> Text,
        kind -> Text,
        version -> Integer,
        wrapped -> Binary,
        wrapper_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    payers (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        payer_code -> Text,
        claim_filing_indicator -> Text,
        timely_filing_days -> Integer,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        appeal_limit_days -> Integer,
        follow_up_days -> Integer,
    }
}

diesel::table! {
    providers (id) {
        id -> Text,
        org_id -> Text,
        npi -> Text,
        tin -> Nullable<Text>,
        organization_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        first_name -> Nullable<Text>,
        taxonomy -> Nullable<Text>,
        address_line1 -> Text,
        address_line2 -> Nullable<Text>,
        city -> Text,
        state -> Text,
        zip -> Text,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        roles -> Text,
    }
}

diesel::table! {
    patients (id) {
        id -> Text,
        org_id -> Text,
        mrn_ct -> Binary,
        family_name_ct -> Binary,
        given_name_ct -> Binary,
        middle_name_ct -> Nullable<Binary>,
        birth_date_ct -> Binary,
        sex -> Text,
        address_ct -> Nullable<Binary>,
        phone_ct -> Nullable<Binary>,
        email_ct -> Nullable<Binary>,
        ssn_ct -> Nullable<Binary>,
        external_ids_ct -> Nullable<Binary>,
        mrn_bidx -> Text,
        name_dob_bidx -> Text,
        ssn4_bidx -> Nullable<Text>,
        key_version -> Integer,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        mrn_system_ct -> Nullable<Binary>,
        mrn_value_bidx -> Text,
    }
}

diesel::table! {
    coverages (id) {
        id -> Text,
        org_id -> Text,
        patient_id -> Text,
        payer_id -> Text,
        priority -> Text,
        member_id_ct -> Binary,
        group_number_ct -> Nullable<Binary>,
        plan_name -> Nullable<Text>,
        relationship -> Text,
        subscriber_ct -> Nullable<Binary>,
        effective_from -> Date,
        effective_to -> Nullable<Date>,
        member_id_bidx -> Text,
        key_version -> Integer,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    encounters (id) {
        id -> Text,
        org_id -> Text,
        patient_id -> Text,
        coverage_id -> Nullable<Text>,
        billing_provider_id -> Text,
        rendering_provider_id -> Nullable<Text>,
        service_date_from -> Date,
        service_date_to -> Date,
        place_of_service -> Text,
        prior_authorization -> Nullable<Text>,
        diagnoses -> Text,
        lines -> Text,
        status -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        line_sources -> Text,
        credited_sources -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    claims (id) {
        id -> Text,
        org_id -> Text,
        encounter_id -> Text,
        patient_id -> Text,
        coverage_id -> Nullable<Text>,
        payer_id -> Nullable<Text>,
        billing_provider_id -> Text,
        rendering_provider_id -> Nullable<Text>,
        patient_control_number -> Text,
        frequency_code -> Text,
        original_claim_id -> Nullable<Text>,
        original_reference -> Nullable<Text>,
        status -> Text,
        place_of_service -> Text,
        service_date_from -> Date,
        service_date_to -> Date,
        prior_authorization -> Nullable<Text>,
        diagnoses -> Text,
        total_charge -> Dec,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        first_submitted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    claim_lines (id) {
        id -> Text,
        org_id -> Text,
        claim_id -> Text,
        line_number -> Integer,
        procedure_code -> Text,
        modifiers -> Text,
        units -> Dec,
        charge -> Dec,
        diagnosis_pointers -> Text,
        service_date -> Date,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    remittances (id) {
        id -> Text,
        org_id -> Text,
        payer_id -> Text,
        trace_number -> Text,
        payment_date -> Date,
        payment_method -> Text,
        total_paid -> Dec,
        body -> Text,
        status -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        exchange_id -> Nullable<Text>,
        file_name -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (org_id, idem_key) {
        org_id -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status_code -> Integer,
        response_body -> Binary,
        resource_location -> Nullable<Text>,
        created_at -> Timestamp,
        key_version -> Integer,
    }
}

diesel::table! {
    key_rotations (id) {
        id -> Text,
        org_id -> Text,
        to_version -> Integer,
        state -> Text,
        rows_total -> BigInt,
        rows_done -> BigInt,
        started_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (org_id, sequence) {
        org_id -> Text,
        sequence -> BigInt,
        id -> Text,
        occurred_at -> Timestamp,
        actor -> Text,
        roles -> Text,
        client_id -> Nullable<Text>,
        purpose_of_use -> Nullable<Text>,
        action -> Text,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        patient_ids -> Text,
        fields_disclosed -> Text,
        outcome -> Text,
        http_status -> Integer,
        request_id -> Nullable<Text>,
        source_ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        break_glass_reason_ct -> Nullable<Binary>,
        prev_hash -> Binary,
        hash -> Binary,
    }
}

diesel::table! {
    audit_event_patients (org_id, patient_id, sequence) {
        org_id -> Text,
        patient_id -> Text,
        sequence -> BigInt,
    }
}

diesel::table! {
    audit_patient_index (org_id) {
        org_id -> Text,
        indexed_through -> BigInt,
    }
}

diesel::table! {
    audit_anchors (org_id, sequence) {
        org_id -> Text,
        sequence -> BigInt,
        hash -> Binary,
        cutoff -> Timestamp,
        purged_at -> Timestamp,
        purged_count -> BigInt,
    }
}

diesel::table! {
    import_links (org_id, source_key) {
        org_id -> Text,
        source_key -> Text,
        resource_type -> Text,
        record_id -> Text,
        content_key -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    claim_transitions (id) {
        id -> Text,
        org_id -> Text,
        claim_id -> Text,
        from_status -> Text,
        to_status -> Text,
        at -> Timestamp,
        actor -> Text,
        reason -> Nullable<Text>,
        remittance_id -> Nullable<Text>,
    }
}

diesel::table! {
    claim_balances (claim_id) {
        claim_id -> Text,
        org_id -> Text,
        insurance_cents -> BigInt,
        patient_cents -> BigInt,
        last_posted_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    ledger_entries (id) {
        id -> Text,
        org_id -> Text,
        kind -> Text,
        side -> Text,
        claim_id -> Nullable<Text>,
        claim_line_id -> Nullable<Text>,
        patient_id -> Nullable<Text>,
        payer_id -> Nullable<Text>,
        amount -> Dec,
        adjustment_group -> Nullable<Text>,
        carc -> Nullable<Text>,
        remarks -> Text,
        provider_adjustment_reason -> Nullable<Text>,
        reference -> Nullable<Text>,
        remittance_id -> Nullable<Text>,
        trace_number -> Nullable<Text>,
        reverses -> Nullable<Text>,
        posted_at -> Timestamp,
    }
}

diesel::table! {
    remittance_postings (id) {
        id -> Text,
        org_id -> Text,
        remittance_id -> Text,
        payer_id -> Text,
        trace_number -> Text,
        posted_at -> Timestamp,
        actor -> Text,
        result -> Text,
    }
}

diesel::table! {
    claim_postings (id) {
        id -> Text,
        org_id -> Text,
        posting_id -> Text,
        remittance_id -> Text,
        claim_id -> Text,
        clp_index -> Integer,
        status_before -> Text,
        status_after -> Text,
        payer_claim_number -> Nullable<Text>,
        reverses_remittance -> Nullable<Text>,
        entry_ids -> Text,
        posted_at -> Timestamp,
        unmatched_id -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    unmatched_remittance_claims (id) {
        id -> Text,
        org_id -> Text,
        posting_id -> Text,
        remittance_id -> Text,
        payer_id -> Text,
        clp_index -> Integer,
        patient_control_number -> Text,
        payer_claim_number -> Nullable<Text>,
        paid -> Dec,
        reason -> Text,
        state -> Text,
        created_at -> Timestamp,
        decision -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    payer_refunds (id) {
        id -> Text,
        org_id -> Text,
        payer_id -> Text,
        remittance_id -> Text,
        unmatched_id -> Text,
        clp_index -> Integer,
        amount -> Dec,
        reason -> Text,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    payment_plans (id) {
        id -> Text,
        org_id -> Text,
        patient_id -> Text,
        total -> Dec,
        installments -> Integer,
        installment_amount -> Dec,
        first_due -> Date,
        frequency -> Text,
        status -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        due_announced -> Integer,
    }
}

diesel::table! {
    claim_cob (claim_id) {
        claim_id -> Text,
        org_id -> Text,
        primary_claim_id -> Text,
        primary_payer_id -> Nullable<Text>,
        adjudication -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    x12_exchanges (id) {
        id -> Text,
        org_id -> Text,
        direction -> Text,
        kind -> Text,
        file_name -> Nullable<Text>,
        interchange_control_number -> Nullable<Text>,
        group_control_number -> Nullable<Text>,
        transaction_control_number -> Nullable<Text>,
        claim_ids -> Text,
        status -> Text,
        raw_ct -> Binary,
        key_version -> Integer,
        created_at -> Timestamp,
        payer_id -> Nullable<Text>,
        transport -> Nullable<Text>,
        answers -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    x12_sender_control_numbers (sender_id) {
        sender_id -> Text,
        last_value -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payer_identifiers (id) {
        id -> Text,
        org_id -> Text,
        payer_id -> Text,
        qualifier -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    unidentified_remittances (id) {
        id -> Text,
        org_id -> Text,
        exchange_id -> Nullable<Text>,
        file_name -> Nullable<Text>,
        remittance_index -> Integer,
        payer_name -> Text,
        identifiers -> Text,
        reason -> Text,
        trace_number -> Text,
        payment_date -> Date,
        total_paid -> Dec,
        body -> Text,
        post -> Bool,
        state -> Text,
        payer_id -> Nullable<Text>,
        remittance_id -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    denials (id) {
        id -> Text,
        org_id -> Text,
        claim_id -> Text,
        claim_line_id -> Nullable<Text>,
        patient_id -> Text,
        payer_id -> Text,
        remittance_id -> Text,
        posting_id -> Text,
        position -> Integer,
        procedure_code -> Nullable<Text>,
        group_code -> Text,
        carc -> Text,
        rarcs -> Text,
        amount -> Dec,
        amount_cents -> BigInt,
        category -> Text,
        avoidable -> Bool,
        partial -> Bool,
        status -> Text,
        assignee -> Nullable<Text>,
        follow_up_on -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        resubmission_claim_id -> Nullable<Text>,
        appeal_deadline -> Nullable<Date>,
    }
}

diesel::table! {
    denial_appeals (id) {
        id -> Text,
        org_id -> Text,
        denial_id -> Text,
        claim_id -> Text,
        level -> Integer,
        sent_on -> Date,
        deadline -> Date,
        late_note_id -> Nullable<Text>,
        outcome -> Nullable<Text>,
        decided_on -> Nullable<Date>,
        decided_by -> Nullable<Text>,
        actor -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    denial_notes (id) {
        id -> Text,
        org_id -> Text,
        denial_id -> Text,
        author -> Text,
        text_ct -> Binary,
        key_version -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    denial_events (id) {
        id -> Text,
        org_id -> Text,
        denial_id -> Text,
        claim_id -> Text,
        action -> Text,
        actor -> Text,
        detail -> Text,
        at -> Timestamp,
    }
}

diesel::joinable!(claim_lines -> claims (claim_id));
diesel::table! {
    event_subscriptions (id) {
        id -> Text,
        org_id -> Text,
        url -> Text,
        event_types -> Text,
        description -> Nullable<Text>,
        paused -> Bool,
        disabled_reason -> Nullable<Text>,
        disabled_at -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        secret_ct -> Binary,
        previous_secret_ct -> Nullable<Binary>,
        previous_secret_until -> Nullable<Timestamp>,
        key_version -> Integer,
        deleted_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox_fan_out (seq) {
        seq -> BigInt,
    }
}

diesel::table! {
    outbox_events (seq) {
        seq -> BigInt,
        id -> Text,
        org_id -> Text,
        event_type -> Text,
        type_version -> Integer,
        resource_type -> Text,
        resource_id -> Text,
        payload -> Text,
        occurred_at -> Timestamp,
        nats_lease_until -> Nullable<Timestamp>,
        nats_attempts -> Integer,
        nats_published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    event_sinks (name) {
        name -> Text,
        after_seq -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    event_deliveries (id) {
        id -> Text,
        org_id -> Text,
        subscription_id -> Text,
        event_seq -> BigInt,
        event_id -> Text,
        event_type -> Text,
        resource_key -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        first_attempt_at -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        first_try_status_code -> Nullable<Integer>,
        first_try_error -> Nullable<Text>,
        first_try_latency_ms -> Nullable<BigInt>,
        first_try_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    event_delivery_attempts (id) {
        id -> Text,
        org_id -> Text,
        delivery_id -> Text,
        attempt -> Integer,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        latency_ms -> BigInt,
        at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    charge_master (id) {
        id -> Text,
        org_id -> Text,
        code -> Text,
        modifier -> Text,
        description -> Text,
        price -> Dec,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    appeal_letter_templates (org_id) {
        org_id -> Text,
        template -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    statement_profiles (org_id) {
        org_id -> Text,
        profile -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::Dec;

    statements (id) {
        id -> Text,
        org_id -> Text,
        patient_id -> Text,
        number -> BigInt,
        statement_date -> Date,
        due_date -> Date,
        amount_due -> Dec,
        run_id -> Nullable<Text>,
        document -> Text,
        created_at -> Timestamp,
        actor -> Text,
    }
}

diesel::table! {
    statement_counters (org_id) {
        org_id -> Text,
        last_value -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    orgs,
    claim_balances,
    audit_events,
    audit_event_patients,
    audit_patient_index,
    audit_anchors,
    import_links,
    key_rotations,
    org_keys,
    payers,
    payer_identifiers,
    unidentified_remittances,
    providers,
    patients,
    coverages,
    encounters,
    claims,
    claim_lines,
    remittances,
    idempotency_keys,
    claim_transitions,
    ledger_entries,
    remittance_postings,
    claim_postings,
    unmatched_remittance_claims,
    payer_refunds,
    payment_plans,
    claim_cob,
    x12_exchanges,
    x12_sender_control_numbers,
    denials,
    denial_notes,
    denial_events,
    denial_appeals,
    event_subscriptions,
    outbox_events,
    outbox_fan_out,
    event_deliveries,
    event_delivery_attempts,
    charge_master,
    statement_profiles,
    statements,
    statement_counters,
    appeal_letter_templates,
);
