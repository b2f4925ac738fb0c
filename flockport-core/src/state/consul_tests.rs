//! Tests of the Consul store's decoding (the store itself runs on the lab: `tests/tests/state`).

use super::*;

#[test]
fn kv_entries_decode() {
    let text = r#"[{"LockIndex":1,"Key":"flockport/lock","Flags":0,"Value":"cGlkIDEy","Session":"adf4238a","CreateIndex":100,"ModifyIndex":200}]"#;
    let e: Vec<KvEntry> = serde_json::from_str(text).unwrap();
    assert_eq!(e[0].modify_index, 200);
    assert_eq!(e[0].session.as_deref(), Some("adf4238a"));
    assert_eq!(openssl::base64::decode_block(e[0].value.as_deref().unwrap()).unwrap(), b"pid 12");
    let e: Vec<KvEntry> = serde_json::from_str(r#"[{"Key":"k","ModifyIndex":7,"Value":null}]"#).unwrap();
    assert!(e[0].value.is_none() && e[0].session.is_none());
}

#[test]
fn kv_answers_are_true_or_false() {
    let a = |b: &[u8]| Answer { status: 200, index: 0, body: b.to_vec() };
    assert!(truth(&a(b"true")) && truth(&a(b"true\n")));
    assert!(!truth(&a(b"false")) && !truth(&a(b"")));
}
