//! The query and report types (SPEC's `logs --format json` shape).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

/// Which grouping the report lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum By {
    /// Fill `by_client` (inbound SMTP clients); `by_domain` stays empty.
    Client,
    /// Fill `by_domain` (outbound recipient domains); `by_client` stays empty.
    Domain,
    /// Fill both lists.
    #[default]
    All,
}

/// What to analyse.
#[derive(Debug, Clone)]
pub struct LogQuery {
    /// Only lines at or after this time count in totals, maps and buckets.
    pub since: Option<DateTime<Utc>>,
    /// Only lines strictly before this time count.
    pub until: Option<DateTime<Utc>>,
    /// Width of a time bucket (at least one second). Buckets start at `since` when it is set,
    /// otherwise at multiples of the width since the Unix epoch. When more than
    /// [`MAX_BUCKETS`] would be needed the width is doubled (repeatedly) so memory stays
    /// bounded; the report's `bucket_seconds` gives the width used.
    pub bucket: Duration,
    /// Which per-key list(s) to fill.
    pub by: By,
    /// Keep the `top` largest entries of each per-key list (0 = all kept entries).
    pub top: usize,
    /// Never show a progress bar (it is shown only on a terminal for inputs over 256 MiB).
    pub quiet: bool,
}

impl Default for LogQuery {
    fn default() -> Self {
        LogQuery {
            since: None,
            until: None,
            bucket: Duration::from_secs(3600),
            by: By::All,
            top: 20,
            quiet: false,
        }
    }
}

/// Upper bound on the number of time buckets (see [`LogQuery::bucket`]).
pub const MAX_BUCKETS: usize = 50_000;
/// Upper bound on distinct clients and on distinct domains tracked; further keys are summed in
/// a row named [`OTHER`].
pub const MAX_KEYS: usize = 20_000;
/// Name of the overflow row of the per-key lists and maps.
pub const OTHER: &str = "(other)";

/// Event counters, used for the totals and for each time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// `connect from` lines of smtpd (inbound SMTP sessions).
    pub connections: u64,
    /// Inbound TLS sessions (`... TLS connection established|reused from`).
    pub tls_established: u64,
    /// Inbound `SSL_accept error` lines (smtpd and tlsproxy).
    pub tls_handshake_failures: u64,
    /// Sessions refused for lack of TLS: `disconnect` with no `starttls=` and `mail=0/N`.
    pub starttls_required_rejects: u64,
    /// Distinct queue IDs with a cleanup `message-id=` line.
    pub messages_accepted: u64,
    /// Outbound `status=deferred` deliveries whose reason is TLS.
    pub tls_deferrals: u64,
    /// Inbound sessions that ended (`disconnect`) without TLS.
    pub plaintext_sessions: u64,
    /// Inbound sessions that ended (`disconnect`) after TLS was established.
    pub tls_sessions: u64,
    /// Outbound TLS sessions (`... TLS connection established|reused to`).
    pub tls_established_outbound: u64,
    /// Deliveries with `status=sent`, by every delivery agent (smtp, lmtp, local, virtual,
    /// pipe, discard, error, retry; see `deliveries_by_transport` in the report).
    pub deliveries_sent: u64,
    /// Deliveries with `status=deferred` (every delivery agent).
    pub deliveries_deferred: u64,
    /// Deliveries with `status=bounced` or `status=expired` (every delivery agent).
    pub deliveries_bounced: u64,
}

impl Counts {
    /// Adds every counter of `o`.
    pub fn add(&mut self, o: &Counts) {
        self.connections += o.connections;
        self.tls_established += o.tls_established;
        self.tls_handshake_failures += o.tls_handshake_failures;
        self.starttls_required_rejects += o.starttls_required_rejects;
        self.messages_accepted += o.messages_accepted;
        self.tls_deferrals += o.tls_deferrals;
        self.plaintext_sessions += o.plaintext_sessions;
        self.tls_sessions += o.tls_sessions;
        self.tls_established_outbound += o.tls_established_outbound;
        self.deliveries_sent += o.deliveries_sent;
        self.deliveries_deferred += o.deliveries_deferred;
        self.deliveries_bounced += o.deliveries_bounced;
    }
}

/// Serializes a time as RFC 3339 with second precision and `Z`.
pub(crate) fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Same as [`ser_time`] for an optional time (`null` when absent).
pub(crate) fn ser_opt_time<S: Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

/// The delivery agents whose `status=` lines are counted, in report order.
pub const TRANSPORTS: [&str; 8] = [
    "smtp", "lmtp", "local", "virtual", "pipe", "discard", "error", "retry",
];

/// Deliveries of one transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TransportCounts {
    /// `status=sent`.
    pub sent: u64,
    /// `status=deferred`.
    pub deferred: u64,
    /// `status=bounced` or `status=expired`.
    pub bounced: u64,
}

/// One time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Start of the bucket (inclusive); it ends at `start + bucket_seconds`.
    #[serde(serialize_with = "ser_time")]
    pub start: DateTime<Utc>,
    /// The counters of events in the bucket.
    #[serde(flatten)]
    pub counts: Counts,
}

/// Per inbound client (`host[addr]` as smtpd logs it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientRow {
    /// `hostname[address]`, or [`OTHER`] for the overflow row.
    pub client: String,
    /// `connect from` lines.
    pub connections: u64,
    /// TLS sessions established.
    pub tls_established: u64,
    /// `SSL_accept error` lines.
    pub tls_handshake_failures: u64,
    /// Sessions refused for lack of TLS.
    pub starttls_required_rejects: u64,
}

/// Per outbound recipient domain (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainRow {
    /// Recipient domain, or [`OTHER`] for the overflow row.
    pub domain: String,
    /// Deliveries with `status=sent`.
    pub sent: u64,
    /// Deliveries with `status=deferred`.
    pub deferred: u64,
    /// Deliveries with `status=bounced` or `expired`.
    pub bounced: u64,
    /// Deferrals whose reason is TLS.
    pub tls_deferrals: u64,
}

/// The result of [`crate::analyze`]; serializes to SPEC's `logs --format json` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogReport {
    /// Input lines read (all programs). With since/until, a plain file is read only in the
    /// byte range that holds the window (found by bisection), so this counts that range.
    pub lines: u64,
    /// Lines from Postfix programs among those read.
    pub postfix_lines: u64,
    /// Lines with no recognisable timestamp and tag among those read.
    pub unparsed_lines: u64,
    /// Earliest Postfix line time inside the time filter (a time range: inputs may come in
    /// any order).
    #[serde(serialize_with = "ser_opt_time")]
    pub first: Option<DateTime<Utc>>,
    /// Latest Postfix line time inside the time filter.
    #[serde(serialize_with = "ser_opt_time")]
    pub last: Option<DateTime<Utc>>,
    /// The `since` filter, if any.
    #[serde(serialize_with = "ser_opt_time")]
    pub since: Option<DateTime<Utc>>,
    /// The `until` filter, if any.
    #[serde(serialize_with = "ser_opt_time")]
    pub until: Option<DateTime<Utc>>,
    /// Width of each bucket actually used.
    pub bucket_seconds: u64,
    /// Counters over the whole time filter.
    pub totals: Counts,
    /// Protocol of inbound TLS sessions (`TLSv1.3`, ...).
    pub tls_protocols: BTreeMap<String, u64>,
    /// Cipher of inbound TLS sessions.
    pub tls_ciphers: BTreeMap<String, u64>,
    /// Inbound TLS handshake failures per reason category (a fixed set, see
    /// [`crate::FAILURE_CATEGORIES`]: `no shared cipher`, `unsupported or too low protocol`,
    /// `certificate unknown`, `lost connection`, `timeout`, `other`).
    pub failure_reasons: BTreeMap<String, u64>,
    /// One sample log message per category in `failure_reasons` (the first seen, at most
    /// 512 bytes).
    pub failure_samples: BTreeMap<String, String>,
    /// Deliveries per delivery agent (program name: smtp, lmtp, local, virtual, pipe,
    /// discard, error, retry); only agents with deliveries are listed. `by_domain` covers
    /// smtp and lmtp only (the network transports).
    pub deliveries_by_transport: BTreeMap<String, TransportCounts>,
    /// What the figures cannot show, e.g. that no `TLS connection established` line was
    /// logged while sessions used TLS (`smtpd_tls_loglevel = 0`).
    pub notes: Vec<String>,
    /// Clients with most problems first (handshake failures, then 530 refusals, then
    /// connections), at most `top`.
    pub by_client: Vec<ClientRow>,
    /// Domains with most TLS deferrals first (then deferrals, then deliveries), at most `top`.
    pub by_domain: Vec<DomainRow>,
    /// Distinct clients seen (capped at [`MAX_KEYS`]).
    pub distinct_clients: u64,
    /// Distinct domains seen (capped at [`MAX_KEYS`]).
    pub distinct_domains: u64,
    /// Time buckets in order; buckets without events are omitted.
    pub buckets: Vec<Bucket>,
}
