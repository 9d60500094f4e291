//! The man-page sections clap has no place for: EXIT STATUS, FILES, ENVIRONMENT, EXAMPLES and
//! SEE ALSO. They are data here (plain text, escaped to roff when written), so that each fact
//! is stated once and every page gets the same wording.

/// Exit codes of every pftls command (docs/exit-codes-and-json.md says the same, and
/// crates/pftls/tests/docs_contract.rs checks them against real runs).
pub const EXIT_CODES: &[(&str, &str)] = &[
    (
        "0",
        "Success: nothing changed, or changes were made without --detailed-exitcode.",
    ),
    (
        "1",
        "Error; nothing was changed (bad policy, unparsable configuration, failed validation, \
         stale plan, corrupt snapshot, lock timeout, I/O error, failed reload after which the \
         snapshot was restored).",
    ),
    (
        "2",
        "Only with --detailed-exitcode: success, and something changed (apply, rollback) or \
         would change (plan, --dry-run).",
    ),
    ("3", "doctor --fail-on LEVEL: findings at or above LEVEL."),
    (
        "64",
        "Usage error: unknown option or command, missing or invalid argument.",
    ),
];

/// Files pftls reads or writes, with what it does to them.
pub const FILES: &[(&str, &str)] = &[
    (
        "/etc/postfix/main.cf, /etc/postfix/master.cf",
        "The Postfix configuration pftls reads and, with apply and rollback, rewrites atomically \
         (see --config-dir). Certificates, keys, lookup tables and every other file are only \
         read, never written.",
    ),
    (
        "/var/lib/pftls/backups",
        "Snapshots taken before every change, one directory per snapshot with manifest.json \
         (mode 0700; see --backup-dir).",
    ),
    (
        "/usr/share/doc/pftls/policies",
        "Copies of the built-in policies, as examples for your own --policy-dir.",
    ),
    (
        "/etc/crypto-policies",
        "The system crypto-policies state, read to align protocols and ciphers (see \
         --crypto-policies-dir).",
    ),
];

/// Environment variables and the option whose default each one sets.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("PFTLS_CONFIG_DIR", "Default of --config-dir."),
    ("PFTLS_BACKUP_DIR", "Default of --backup-dir."),
    (
        "PFTLS_POLICY_PATH",
        "Colon-separated policy directories, searched after --policy-dir.",
    ),
];

/// One example: what it does, and the command.
pub type Example = (&'static str, &'static str);

/// Examples per page, keyed by the page name without section (`pftls`, `pftls-apply`,
/// `pftls-backups-list`, ...). A key naming no generated page is an error in gen-assets, so a
/// renamed command cannot keep stale examples.
pub const EXAMPLES: &[(&str, &[Example])] = &[
    (
        "pftls",
        &[
            (
                "What is risky in the running configuration?",
                "pftls doctor",
            ),
            (
                "What would the primary fix change, and who would lose TLS?",
                "pftls plan -p inbound-opportunistic",
            ),
            (
                "Apply it and reload Postfix (a failed reload restores the snapshot).",
                "pftls apply -p inbound-opportunistic --reload",
            ),
            ("Undo the last change.", "pftls rollback --reload"),
        ],
    ),
    (
        "pftls-set",
        &[
            (
                "What would making port 25 opportunistic change? (writes nothing)",
                "pftls set smtpd_tls_security_level=may --dry-run",
            ),
            (
                "Set two parameters with a snapshot, and reload.",
                "pftls set smtpd_tls_loglevel=1 smtp_tls_loglevel=1 --reload",
            ),
            (
                "Require TLS on the submission service (a master.cf -o override).",
                "pftls set -s submission/inet smtpd_tls_security_level=encrypt",
            ),
            (
                "Remove a main.cf parameter (Postfix's default applies again).",
                "pftls set --unset smtpd_tls_mandatory_protocols",
            ),
        ],
    ),
    (
        "pftls-verify",
        &[
            (
                "Probe every listener of /etc/postfix: TLS 1.2+, plaintext mail on mx, no plaintext AUTH where TLS is required, no TLS deferrals.",
                "pftls verify",
            ),
            (
                "The same for another instance, as JSON.",
                "pftls -c /etc/postfix-out verify --format json",
            ),
            (
                "Apply, reload and verify; a failed check restores the snapshot and reloads.",
                "pftls apply -p inbound-opportunistic --reload --verify",
            ),
        ],
    ),
    (
        "pftls-completions",
        &[
            (
                "Install the bash completion (completes policy names and snapshot ids too).",
                "pftls completions bash",
            ),
            ("The zsh completion.", "pftls completions zsh"),
            ("The fish completion.", "pftls completions fish"),
        ],
    ),
    (
        "pftls-show",
        &[
            (
                "Effective TLS settings with their source lines.",
                "pftls show",
            ),
            (
                "Every parameter and -o override, for a line-by-line comparison with postconf -n \
                 and postconf -P.",
                "pftls show --all --format json",
            ),
            (
                "A second Postfix instance.",
                "pftls -c /etc/postfix-out show",
            ),
        ],
    ),
    (
        "pftls-doctor",
        &[
            ("All findings, with location and fix.", "pftls doctor"),
            (
                "In a script or monitoring check: exit 3 when a warning or worse is found.",
                "pftls doctor --fail-on warning",
            ),
        ],
    ),
    (
        "pftls-plan",
        &[
            (
                "Diff, parameter summary and handshake impact of two policies together.",
                "pftls plan -p inbound-opportunistic -p tls-logging",
            ),
            (
                "Save the plan for review; apply exactly it later.",
                "pftls plan -p inbound-opportunistic --out /root/tls.plan",
            ),
            ("Your own policy file.", "pftls plan -p ./my-policy.yaml"),
        ],
    ),
    (
        "pftls-apply",
        &[
            (
                "Print exactly what would be written; write nothing.",
                "pftls apply -p inbound-opportunistic --dry-run",
            ),
            (
                "Apply, then run postfix reload.",
                "pftls apply -p inbound-opportunistic --reload",
            ),
            (
                "Apply a reviewed plan; refused when main.cf or master.cf changed since.",
                "pftls apply --plan /root/tls.plan --reload",
            ),
            (
                "Apply, watch the mail log for 10 minutes, roll back by itself when accepted \
                 mail drops or TLS failures rise.",
                "pftls apply -p inbound-opportunistic --reload --guard 10m --log /var/log/mail.log",
            ),
            (
                "From Ansible or a script: JSON, exit 2 when something changed.",
                "pftls --format json --detailed-exitcode apply -p inbound-opportunistic",
            ),
        ],
    ),
    (
        "pftls-rollback",
        &[
            ("What would be restored.", "pftls rollback --dry-run"),
            (
                "Restore the state before the last apply and reload Postfix.",
                "pftls rollback --reload",
            ),
            (
                "Restore a given snapshot (ids from pftls backups list).",
                "pftls rollback --to 20261202T053000Z --reload",
            ),
            (
                "Roll back only if accepted mail dropped by half or more since the change.",
                "pftls rollback --if-drop 50 --log /var/log/mail.log --reload",
            ),
        ],
    ),
    (
        "pftls-simulate",
        &[
            (
                "Which sending TLS stacks each inbound service accepts, now and after the policy.",
                "pftls simulate -p inbound-opportunistic",
            ),
            (
                "Only two client profiles.",
                "pftls simulate --client openssl_102e --client java_8u31",
            ),
        ],
    ),
    (
        "pftls-probe",
        &[
            (
                "Probe the local port 25 after a reload.",
                "pftls probe 127.0.0.1:25",
            ),
            (
                "Probe the submission port with a given EHLO name.",
                "pftls probe mail.example.org:587 --ehlo probe.example.org",
            ),
        ],
    ),
    (
        "pftls-logs",
        &[
            (
                "TLS failures, protocol mix and 530 refusals of a mail log.",
                "pftls logs /var/log/mail.log",
            ),
            (
                "Before and after the last change, in equal windows.",
                "pftls logs /var/log/mail.log --around 20261202T053000Z",
            ),
            (
                "From the journal.",
                "journalctl -u postfix -o short-iso | pftls logs -",
            ),
        ],
    ),
    (
        "pftls-mta-sts",
        &[
            (
                "The MTA-STS policy file and DNS records for the configured MX names.",
                "pftls mta-sts --domain example.org --mx mx1.example.org --mode testing",
            ),
            (
                "Check a published policy file.",
                "pftls mta-sts --check mta-sts.txt",
            ),
        ],
    ),
    (
        "pftls-tlsa",
        &[
            (
                "TLSA records for the configured certificate.",
                "pftls tlsa --host mx1.example.org",
            ),
            (
                "Publish the next key's record before a key rollover.",
                "pftls tlsa --host mx1.example.org --next-key /etc/ssl/private/next.key",
            ),
        ],
    ),
    (
        "pftls-backups",
        &[
            ("Snapshots, oldest first.", "pftls backups list"),
            (
                "Keep the ten newest snapshots.",
                "pftls backups prune --keep 10",
            ),
        ],
    ),
    (
        "pftls-policies",
        &[
            ("Built-in and --policy-dir policies.", "pftls policies list"),
            (
                "Validate your own policy.",
                "pftls policies check ./my-policy.yaml",
            ),
        ],
    ),
    (
        "pftls-backups-list",
        &[("Snapshots, oldest first.", "pftls backups list")],
    ),
    (
        "pftls-backups-show",
        &[(
            "Manifest and files of one snapshot.",
            "pftls backups show 20261202T053000Z",
        )],
    ),
    (
        "pftls-backups-prune",
        &[(
            "Keep the ten newest snapshots.",
            "pftls backups prune --keep 10",
        )],
    ),
    (
        "pftls-policies-list",
        &[("Built-in and --policy-dir policies.", "pftls policies list")],
    ),
    (
        "pftls-policies-show",
        &[(
            "A policy with its description.",
            "pftls policies show inbound-opportunistic",
        )],
    ),
    (
        "pftls-policies-check",
        &[(
            "Validate your policies without touching any configuration.",
            "pftls policies check /etc/pftls/policies/*.yaml",
        )],
    ),
];

/// Pages outside pftls named in every SEE ALSO section.
pub const SEE_ALSO_POSTFIX: &[&str] = &["postconf(1)", "postconf(5)", "master(5)", "postfix(1)"];
