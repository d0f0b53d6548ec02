//! Diesel's view of the tables in `migrations/`. The same declarations
//! serve SQLite and PostgreSQL: both migrations create these columns with
//! compatible types.

diesel::table! {
    organizations (id) {
        id -> BigInt,
        name -> Text,
        division -> Text,
        level -> Text,
        parent_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    org_contacts (id) {
        id -> BigInt,
        org_id -> BigInt,
        kind -> Text,
        value -> Text,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sites (id) {
        id -> BigInt,
        code -> Nullable<Text>,
        name -> Text,
        kind -> Text,
        org_id -> BigInt,
        status -> Text,
        icp_filing -> Nullable<Text>,
        psb_filing -> Nullable<Text>,
        approval_ref -> Nullable<Text>,
        retirement_ref -> Nullable<Text>,
        successor_url -> Nullable<Text>,
        status_reason -> Nullable<Text>,
        requested_at -> Nullable<Timestamp>,
        approved_at -> Nullable<Timestamp>,
        rejected_at -> Nullable<Timestamp>,
        live_at -> Nullable<Timestamp>,
        suspended_at -> Nullable<Timestamp>,
        retiring_at -> Nullable<Timestamp>,
        notice_until -> Nullable<Timestamp>,
        offline_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        status_changed_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    domains (id) {
        id -> BigInt,
        site_id -> BigInt,
        hostname -> Text,
        role -> Text,
        state -> Text,
        release_deadline -> Nullable<Timestamp>,
        released_at -> Nullable<Timestamp>,
        added_at -> Timestamp,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        platform -> Text,
        account_id -> Text,
        name -> Text,
        org_id -> BigInt,
        status -> Text,
        feed_url -> Nullable<Text>,
        last_post_at -> Nullable<Timestamp>,
        status_reason -> Nullable<Text>,
        status_changed_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    exceptions (id) {
        id -> BigInt,
        kind -> Text,
        subject -> Text,
        reason -> Text,
        actor -> Text,
        valid_until -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit (id) {
        id -> BigInt,
        recorded_at -> Timestamp,
        effective_at -> Timestamp,
        actor -> Text,
        entity -> Text,
        entity_id -> BigInt,
        site_id -> Nullable<BigInt>,
        action -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        reason -> Nullable<Text>,
        warnings -> Nullable<Text>,
        state_json -> Nullable<Text>,
        prev_hash -> Nullable<Text>,
        row_hash -> Nullable<Text>,
        actor_source -> Nullable<Text>,
    }
}

diesel::table! {
    observations (id) {
        id -> BigInt,
        hostname -> Text,
        kind -> Text,
        address -> Text,
        outcome -> Text,
        data -> Text,
        first_seen -> Timestamp,
        last_seen -> Timestamp,
        seen_count -> BigInt,
        schema -> Integer,
    }
}

diesel::table! {
    findings (id) {
        id -> BigInt,
        kind -> Text,
        subject -> Text,
        scope -> Text,
        severity -> Text,
        status -> Text,
        site_id -> Nullable<BigInt>,
        org_id -> Nullable<BigInt>,
        summary -> Text,
        action -> Text,
        evidence -> Text,
        confirmations -> BigInt,
        first_seen -> Timestamp,
        last_seen -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        ack_actor -> Nullable<Text>,
        ack_note -> Nullable<Text>,
        ack_at -> Nullable<Timestamp>,
        opened_at -> Nullable<Timestamp>,
        notified_at -> Nullable<Timestamp>,
        overdue_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    finding_events (id) {
        id -> BigInt,
        finding_id -> BigInt,
        at -> Timestamp,
        change -> Text,
        status -> Text,
        severity -> Text,
        actor -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        key -> Text,
        sink -> Text,
        org_id -> Nullable<BigInt>,
        kind -> Text,
        findings -> Text,
        body -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        send_after -> Timestamp,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        answer -> Nullable<Text>,
        window_id -> Nullable<BigInt>,
        findings_sent -> BigInt,
    }
}

diesel::table! {
    sink_states (sink) {
        sink -> Text,
        state -> Text,
        limited_until -> Nullable<Timestamp>,
        reason -> Nullable<Text>,
        changed_at -> Timestamp,
        last_delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sink_sends (id) {
        id -> BigInt,
        sink -> Text,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    maintenance_windows (id) {
        id -> BigInt,
        site_id -> Nullable<BigInt>,
        org_id -> Nullable<BigInt>,
        cron -> Text,
        duration_secs -> BigInt,
        reason -> Text,
        created_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        started_notice -> Nullable<Timestamp>,
        ended_notice -> Nullable<Timestamp>,
    }
}

diesel::table! {
    discovered_hosts (id) {
        id -> BigInt,
        hostname -> Text,
        source -> Text,
        first_seen -> Timestamp,
        last_seen -> Timestamp,
    }
}

diesel::table! {
    runs (id) {
        id -> BigInt,
        job -> Text,
        fire_at -> Nullable<Timestamp>,
        instance -> Nullable<Text>,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        hosts -> BigInt,
        measurement_failures -> BigInt,
        failures -> Text,
        opened -> BigInt,
        resolved -> BigInt,
        status -> Text,
    }
}

diesel::joinable!(sites -> organizations (org_id));
diesel::joinable!(domains -> sites (site_id));
diesel::joinable!(accounts -> organizations (org_id));
diesel::joinable!(org_contacts -> organizations (org_id));

diesel::table! {
    schedules (job) {
        job -> Text,
        expression -> Text,
        next_at -> Timestamp,
    }
}

diesel::table! {
    work (id) {
        id -> BigInt,
        run_id -> BigInt,
        hostname -> Text,
        names -> Text,
        owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        claims -> BigInt,
        done_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    instances (name) {
        name -> Text,
        started_at -> Timestamp,
        heartbeat_at -> Timestamp,
    }
}

diesel::joinable!(work -> runs (run_id));

diesel::table! {
    reconcile_runs (id) {
        id -> BigInt,
        quarter -> Text,
        as_of -> Timestamp,
        complete -> Bool,
        ran_at -> Timestamp,
        trigger -> Text,
        actor -> Text,
        discrepancies -> BigInt,
        fixes -> BigInt,
        report -> Text,
    }
}

diesel::table! {
    report_runs (id) {
        id -> BigInt,
        quarter -> Text,
        as_of -> Timestamp,
        complete -> Bool,
        generated_at -> Timestamp,
        trigger -> Text,
        actor -> Text,
        reconcile_run -> Nullable<BigInt>,
        sites -> BigInt,
        sites_failed -> BigInt,
        circular -> Text,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        orgs -> Text,
        with_subordinates -> Bool,
        hash -> Binary,
        created_at -> Timestamp,
        created_by -> Text,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        orgs -> Text,
        with_subordinates -> Bool,
        password_hash -> Text,
        created_at -> Timestamp,
        created_by -> Text,
        disabled_at -> Nullable<Timestamp>,
        password_changed_at -> Timestamp,
    }
}

diesel::table! {
    web_sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        secret_hash -> Binary,
        csrf -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::joinable!(web_sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    users,
    web_sessions,
    organizations,
    org_contacts,
    sites,
    domains,
    accounts,
    exceptions,
    audit,
    observations,
    findings,
    discovered_hosts,
    runs,
    schedules,
    work,
    instances,
    finding_events,
    notifications,
    sink_states,
    sink_sends,
    maintenance_windows,
    reconcile_runs,
    report_runs,
);
