//! `assume clear [PROFILE] [--all]`: a profile's entry (its MFA session kept), or everything,
//! in each store.

use crate::harness::{Store, StoreCx, actions, recorded_sts_calls, stored_secret};

/// In the store `store` means: `clear admin` removes admin's entry only (the MFA session
/// stays, and serves the next `admin`), `clear --all` every entry, MFA sessions too.
fn clear_removes_entries(store: Store) {
    let cx = StoreCx::new(store);
    let admin_key = cx.cache_key("admin");
    let readonly_key = cx.cache_key("readonly");
    let (admin, _, _) = cx.key_id_and_calls(&["admin", "--token-code", "123456"]);
    let (readonly, calls, _) = cx.key_id_and_calls(&["readonly"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert!(
        stored_secret(&cx, &admin_key).is_some(),
        "{store:?}: admin not stored"
    );
    assert!(stored_secret(&cx, &readonly_key).is_some());

    // clear PROFILE: that profile's entry only (the MFA session stays).
    cx.ok(&["clear", "admin"]);
    assert_eq!(
        stored_secret(&cx, &admin_key),
        None,
        "{store:?}: clear admin left the entry"
    );
    assert!(
        stored_secret(&cx, &readonly_key).is_some(),
        "{store:?}: clear admin removed readonly"
    );
    let (id, calls, _) = cx.key_id_and_calls(&["readonly"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(id, readonly);
    let (id, calls, stderr) = cx.key_id_and_calls(&["admin"]);
    assert_eq!(
        actions(&calls),
        ["AssumeRole"],
        "{store:?}: after clear admin, a miss from the kept MFA session: {stderr}"
    );
    assert_ne!(id, admin);

    // clear --all: everything, MFA sessions included.
    cx.ok(&["clear", "--all"]);
    assert_eq!(stored_secret(&cx, &admin_key), None);
    assert_eq!(stored_secret(&cx, &readonly_key), None);
    let calls = recorded_sts_calls(&cx.env, || {
        let out = cx.run(&["readonly"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{store:?}: MFA session survived clear --all: {stderr}"
        );
        assert!(stderr.contains("--token-code"), "{stderr}");
        assert!(out.stdout.is_empty());
    });
    assert!(calls.is_empty(), "{calls:?}");
    let (_, calls, _) = cx.key_id_and_calls(&["readonly", "--token-code", "123456"]);
    assert_eq!(actions(&calls), ["GetSessionToken", "AssumeRole"]);
}

#[test]
fn clear_file_store() {
    clear_removes_entries(Store::File);
}

#[test]
fn clear_secret_service() {
    clear_removes_entries(Store::OwnSecretService);
}

#[test]
fn clear_keyutils() {
    clear_removes_entries(Store::Keyutils);
}
