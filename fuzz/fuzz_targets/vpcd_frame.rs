#![no_main]
//! vpcd framing: any byte stream from "vpcd" (lengths, control bytes, APDUs, cut frames) ends
//! the connection cleanly, never a panic or a hang. The bytes go over a real loopback socket
//! to `serve_connection`, the card answering with a trivial responder.
use gpse::transport::vpcd::{serve_connection, Ended, Stop, VirtualCard};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

struct Echo;

impl VirtualCard for Echo {
    fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x00]
    }
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn reset(&mut self) {}
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let mut r = apdu.to_vec();
        r.extend_from_slice(&[0x90, 0x00]);
        r
    }
}

fn listener() -> &'static TcpListener {
    static L: OnceLock<TcpListener> = OnceLock::new();
    L.get_or_init(|| TcpListener::bind("127.0.0.1:0").unwrap())
}

fuzz_target!(|data: &[u8]| {
    let l = listener();
    let mut peer = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (card_side, _) = l.accept().unwrap();
    // The peer writes everything, then closes its side; answers pile up in the socket buffer,
    // read by a thread so a long input cannot block the card's writes.
    let reader = {
        let mut p = peer.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut p, &mut std::io::sink());
        })
    };
    let _ = peer.write_all(data);
    let _ = peer.shutdown(Shutdown::Write);
    let ended = serve_connection(card_side, &mut Echo, &Stop::new(), Duration::from_millis(200), &mut |_| {});
    assert!(!matches!(ended, Ended::Stopped), "{ended:?}");
    drop(peer);
    let _ = reader.join();
});
