//! openraft's storage conformance suite on a real RocksDB in a temp dir, plus our own
//! restart and snapshot checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use domain::{Command, CommandId, Envelope, StateView, StateViewExt, SupplierId};
use openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder};
use tempfile::TempDir;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachineStore), Error> {
        let dir = TempDir::new().map_err(write_err)?;
        let s = open(dir.path()).map_err(|e| msg_err(e.to_string()))?;
        Ok((dir, s.log, s.sm))
    }
}

#[test]
fn openraft_storage_suite() -> Result<(), Error> {
    Suite::test_all(Builder)
}

fn supplier_entry(index: u64, id: &str) -> Entry<TypeConfig> {
    let env = Envelope {
        id: CommandId::new(format!("c-{index}-{id}")),
        at: time::macros::datetime!(2026-11-23 10:00 UTC),
        origin: 1,
        actor: None,
        cmd: Command::CreateSupplier(domain::command::SupplierFields::named(id, format!("Leverantör {id}"))),
    };
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(crate::Batch(vec![env])),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn applied_state_survives_reopen_and_snapshot_restores_it() {
    rt().block_on(async {
        let dir = TempDir::new().unwrap();
        {
            let mut s = open(dir.path()).unwrap();
            let v =
                s.sm.apply(vec![supplier_entry(1, "a"), supplier_entry(2, "b"), supplier_entry(3, "a")]).await.unwrap();
            assert!(matches!(v[0][..], [domain::Verdict::Applied { .. }]));
            assert!(matches!(v[2][..], [domain::Verdict::Rejected { .. }]), "second create of the same id: {:?}", v[2]);
        }
        // Reopen: state and last_applied are there without replaying anything.
        let mut s = open(dir.path()).unwrap();
        let (la, _) = s.sm.applied_state().await.unwrap();
        assert_eq!(la.map(|l| l.index), Some(3));
        assert!(s.view.supplier(SupplierId::new("b")).unwrap().is_some());
        let digest = s.view.digest().unwrap();
        assert_eq!(digest.0, 3);

        let snap = s.sm.build_snapshot().await.unwrap();
        assert_eq!(snap.meta.last_log_id.map(|l| l.index), Some(3));

        // Install on a fresh store: same state, same digest.
        let other = TempDir::new().unwrap();
        let mut t = open(other.path()).unwrap();
        t.sm.apply(vec![supplier_entry(1, "stale")]).await.unwrap();
        t.sm.install_snapshot(&snap.meta, snap.snapshot.clone()).await.unwrap();
        assert_eq!(t.view.digest().unwrap(), digest);
        assert!(t.view.supplier(SupplierId::new("stale")).unwrap().is_none(), "install replaces old state");
        let (la, _) = t.sm.applied_state().await.unwrap();
        assert_eq!(la.map(|l| l.index), Some(3));
        assert_eq!(t.view.scan(domain::Table::Supplier, None, 10).unwrap().len(), 2);
    });
}

#[test]
fn corrupt_snapshot_is_refused_and_changes_nothing() {
    rt().block_on(async {
        let dir = TempDir::new().unwrap();
        let mut s = open(dir.path()).unwrap();
        s.sm.apply(vec![supplier_entry(1, "a")]).await.unwrap();
        let snap = s.sm.build_snapshot().await.unwrap();
        let mut bytes = std::fs::read(&snap.snapshot.path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        let bad = dir.path().join("bad.bin");
        std::fs::write(&bad, bytes).unwrap();

        let other = TempDir::new().unwrap();
        let mut t = open(other.path()).unwrap();
        t.sm.apply(vec![supplier_entry(1, "keep")]).await.unwrap();
        let before = t.view.digest().unwrap();
        let res = t.sm.install_snapshot(&snap.meta, Box::new(SnapshotFile { path: bad })).await;
        assert!(res.is_err());
        assert_eq!(t.view.digest().unwrap(), before);
    });
}

#[test]
fn log_entries_survive_reopen() {
    rt().block_on(async {
        let dir = TempDir::new().unwrap();
        {
            let s = open(dir.path()).unwrap();
            let mut log = s.log;
            // Append and wait until the WAL sync is reported through the callback.
            let entries = vec![supplier_entry(1, "a"), supplier_entry(2, "b")];
            log.blocking_append(entries).await.unwrap();
        }
        let s = open(dir.path()).unwrap();
        let mut log = s.log;
        let st = log.get_log_state().await.unwrap();
        assert_eq!(st.last_log_id.map(|l| l.index), Some(2));
    });
}

#[test]
fn the_outbox_keeps_its_order_and_survives_a_reopen() {
    let dir = TempDir::new().unwrap();
    {
        let s = open(dir.path()).unwrap();
        assert_eq!(s.outbox.push(&"first").unwrap(), 1);
        assert_eq!(s.outbox.push(&"second").unwrap(), 2);
        assert_eq!(s.outbox.push(&"third").unwrap(), 3);
        s.outbox.put(2, &"second, sent").unwrap();
        s.outbox.remove(1).unwrap();
    }
    let s = open(dir.path()).unwrap();
    let items: Vec<(u64, String)> = s.outbox.list().unwrap();
    assert_eq!(items, [(2, "second, sent".to_owned()), (3, "third".to_owned())]);
    // Numbers are never reused while later items remain.
    assert_eq!(s.outbox.push(&"fourth").unwrap(), 4);
}

fn addr(n: u64) -> NodeAddr {
    NodeAddr { http: format!("http://127.0.0.1:{}", 8080 + n), grpc: format!("127.0.0.1:{}", 9080 + n) }
}

fn source() -> BackupSource {
    BackupSource {
        node_id: 1,
        taken_at: "2026-12-02T10:00:00Z".into(),
        leader_id: Some(1),
        quorum: true,
        millis_since_quorum: Some(0),
    }
}

#[test]
fn a_lone_survivor_keeps_its_log_tail_and_becomes_the_only_voter() {
    let dir = TempDir::new().unwrap();
    rt().block_on(async {
        let mut s = open(dir.path()).unwrap();
        s.sm.apply(vec![supplier_entry(1, "a")]).await.unwrap();
        // Entries 1..3 held in the log; only 1 applied; the node knew of a commit up to 2.
        s.log
            .blocking_append(vec![supplier_entry(1, "a"), supplier_entry(2, "b"), supplier_entry(3, "c")])
            .await
            .unwrap();
        s.log.save_committed(Some(LogId::new(CommittedLeaderId::new(1, 1), 2))).await.unwrap();
        s.log.save_vote(&openraft::Vote::new(4, 2)).await.unwrap();
        s.outbox.push(&"queued while cut off").unwrap();
    });
    // Refused while the database is open (a running node holds its lock).
    let held = open(dir.path()).unwrap();
    assert!(matches!(
        force_new_cluster(dir.path(), 3, addr(3), &Confirmed::default(), &mut |_, _| {}),
        Err(RecoveryError::Running(_))
    ));
    drop(held);

    let survey = survey(dir.path()).unwrap();
    assert_eq!(survey.last_log.map(|l| l.index), Some(3));
    assert_eq!(survey.outbox, 1);
    let mut heard = Vec::new();
    let f = force_new_cluster(dir.path(), 3, addr(3), &Confirmed::default(), &mut |done, of| heard.push((done, of)))
        .unwrap();
    assert_eq!((f.replayed, f.beyond_commit), (2, 1));
    assert_eq!(heard, [(0, 2), (2, 2)], "the replay's progress, from nothing to all");
    // Index 4 is the recovery's own entry (who, which old members retired: none here).
    assert_eq!(f.log_id, LogId::new(CommittedLeaderId::new(5, 3), 5), "above every term voted in, past the log");
    assert!(f.retired.is_empty(), "no node directory in this state");

    rt().block_on(async {
        let mut s = open(dir.path()).unwrap();
        for id in ["a", "b", "c"] {
            assert!(s.view.supplier(SupplierId::new(id)).unwrap().is_some(), "{id} kept");
        }
        let audit = s.view.scan(domain::Table::Audit, None, usize::MAX).unwrap();
        assert!(
            matches!(audit.last(), Some(domain::Record::Audit(a)) if a.command == "force_new_cluster" && a.log_index == 4),
            "{audit:?}"
        );
        let (la, m) = s.sm.applied_state().await.unwrap();
        assert_eq!(la, Some(f.log_id));
        assert_eq!(m.membership().voter_ids().collect::<Vec<_>>(), [3]);
        assert_eq!(m.membership().get_node(&3), Some(&addr(3)));
        let st = s.log.get_log_state().await.unwrap();
        assert_eq!((st.last_purged_log_id, st.last_log_id), (Some(f.log_id), Some(f.log_id)));
        assert_eq!(s.outbox.list::<String>().unwrap().len(), 1, "the outbox stays");
    });
}

#[test]
fn a_backup_restores_to_the_same_state_and_a_damaged_one_changes_nothing() {
    let src = TempDir::new().unwrap();
    let s = open(src.path()).unwrap();
    rt().block_on(async {
        let mut sm = s.sm.clone();
        sm.apply(vec![supplier_entry(1, "a"), supplier_entry(2, "b")]).await.unwrap();
    });
    let file = src.path().join("backup.brd");
    let header = write_backup(&s.view, &file, source()).unwrap();
    let (applied, digest) = s.view.digest().unwrap();
    assert_eq!(
        (header.records, header.state_sha256.as_str()),
        (6, digest.as_str()),
        "2 suppliers, 2 command records, 2 audit lines"
    );
    assert_eq!(header.last_applied.map(|l| l.index), Some(applied));

    let (read, records) = read_backup(&file).unwrap();
    assert_eq!(read.source, source());
    let target = TempDir::new().unwrap();
    let dir = target.path().join("node1");
    let mut heard = Vec::new();
    let f = restore(&dir, 1, addr(1), &read, &records, &mut |done, of| heard.push((done, of))).unwrap();
    assert_eq!(f.log_id.index, applied + 1);
    assert_eq!(heard, [(0, 6), (6, 6)], "the restore's progress");
    let t = open(&dir).unwrap();
    assert_eq!(t.view.digest().unwrap().1, digest, "restored state equals the source");
    drop(t);
    assert!(matches!(restore(&dir, 1, addr(1), &read, &records, &mut |_, _| {}), Err(RecoveryError::NotEmpty(_))));

    // Damaged in the middle, cut short, a snapshot file, a foreign file: each refused by name.
    let bytes = std::fs::read(&file).unwrap();
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 1;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("flipped.brd", flipped, "damaged"),
        ("short.brd", bytes[..bytes.len() - 10].to_vec(), "damaged"),
        ("snap.bin", b"BRDSNAP1-and-more-bytes-than-a-header-needs-to-be-read".to_vec(), "snapshot file"),
        ("orders.csv", b"id;unit;article\n1;ekb-iva;art-1\n........................".to_vec(), "not a beredd backup"),
    ];
    for (name, data, expect) in cases {
        let p = src.path().join(name);
        std::fs::write(&p, data).unwrap();
        let err = read_backup(&p).unwrap_err().to_string();
        assert!(err.contains(expect), "{name}: {err}");
    }
}

#[test]
fn a_batch_applies_in_order_with_a_verdict_dedup_record_and_audit_line_each() {
    rt().block_on(async {
        let dir = TempDir::new().unwrap();
        let mut s = open(dir.path()).unwrap();
        let first = supplier_entry(1, "a");
        let EntryPayload::Normal(Batch(mut envs)) = first.payload else { panic!("not a normal entry") };
        let mut again = envs[0].clone();
        // The same command id twice in one batch (a client's resend) is applied once.
        envs.push(again.clone());
        again.id = CommandId::new("second create of the same supplier");
        envs.push(again);
        let entry =
            Entry { log_id: LogId::new(CommittedLeaderId::new(1, 1), 1), payload: EntryPayload::Normal(Batch(envs)) };
        let v = s.sm.apply(vec![entry]).await.unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].len(), 3);
        assert!(matches!(v[0][0], domain::Verdict::Applied { .. }));
        assert_eq!(v[0][1], v[0][0], "a repeated id answers with the first verdict");
        assert!(matches!(v[0][2], domain::Verdict::Rejected { .. }));
        let trail: Vec<(u64, u32, String)> = s
            .view
            .scan(domain::Table::Audit, None, 10)
            .unwrap()
            .into_iter()
            .filter_map(|r| match r {
                domain::Record::Audit(a) => Some((a.log_index, a.slot, a.outcome)),
                _ => None,
            })
            .collect();
        assert_eq!(trail.len(), 2, "the repeat adds no line: {trail:?}");
        assert_eq!((trail[0].0, trail[0].1, trail[0].2.as_str()), (1, 0, "applied"));
        assert_eq!((trail[1].0, trail[1].1), (1, 2));
        assert_ne!(trail[1].2, "applied");
    });
}

#[test]
fn every_demo_command_survives_the_binary_encoding_and_old_entries_still_read() {
    let mut envs: Vec<Envelope> = domain::demo_data::demo_commands()
        .into_iter()
        .chain(domain::demo_data::demo_status())
        .chain(domain::demo_data::demo_contacts())
        .chain(domain::demo_data::demo_cards())
        .map(|(id, cmd)| Envelope {
            id,
            at: time::macros::datetime!(2026-12-05 10:00 UTC),
            origin: 1,
            actor: None,
            cmd,
        })
        .collect();
    assert!(envs.len() > 50, "the demo data should exercise many command kinds");
    envs[0].actor = Some("anna".into());
    let log_id = LogId::new(CommittedLeaderId::new(3, 2), 42);
    let entry = Entry::<TypeConfig> { log_id, payload: EntryPayload::Normal(Batch(envs.clone())) };
    let bytes = codec::encode_entry(&entry);
    assert_eq!(bytes[0], codec::MSGPACK_V2);
    let back = codec::decode_entry(&bytes).unwrap();
    let EntryPayload::Normal(Batch(decoded)) = back.payload else { panic!("payload changed kind") };
    assert_eq!(back.log_id, log_id);
    assert_eq!(decoded, envs);
    let json: usize = envs.iter().map(|e| serde_json::to_vec(e).unwrap().len()).sum();
    assert!(bytes.len() < json, "binary {} bytes, JSON {json}", bytes.len());

    // An entry written by the previous version: JSON, one envelope.
    let old = Entry::<codec::LegacyConfig> { log_id, payload: EntryPayload::Normal(envs[0].clone()) };
    let mut v1 = vec![codec::JSON_V1];
    v1.extend(serde_json::to_vec(&old).unwrap());
    let up = codec::decode_entry(&v1).unwrap();
    assert_eq!(up.log_id, log_id);
    assert!(matches!(up.payload, EntryPayload::Normal(Batch(ref b)) if b == &envs[..1]));
    assert!(matches!(codec::decode_entry(&[9, 1, 2]), Err(codec::CodecError::UnknownVersion(9))));

    // An AppendEntries from a leader not yet upgraded: JSON, its entries one envelope each.
    let old_rpc = openraft::raft::AppendEntriesRequest::<codec::LegacyConfig> {
        vote: openraft::Vote::new_committed(3, 2),
        prev_log_id: Some(LogId::new(CommittedLeaderId::new(3, 2), 41)),
        entries: vec![old],
        leader_commit: Some(LogId::new(CommittedLeaderId::new(3, 2), 40)),
    };
    let mut v1 = vec![codec::JSON_V1];
    v1.extend(serde_json::to_vec(&old_rpc).unwrap());
    let rpc = codec::decode_append_entries(&v1).unwrap();
    assert_eq!(
        (rpc.vote, rpc.prev_log_id, rpc.leader_commit),
        (old_rpc.vote, old_rpc.prev_log_id, old_rpc.leader_commit)
    );
    assert!(
        matches!(&rpc.entries[..], [e] if e.log_id == log_id && matches!(&e.payload, EntryPayload::Normal(Batch(b)) if b == &envs[..1]))
    );
    // And one of this version round-trips through the same function.
    let again = codec::decode_append_entries(&codec::to_bytes(&rpc)).unwrap();
    assert_eq!(again.entries.len(), 1);
}
