//! Driving futures and bodies that never wait, without a runtime.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use http_body::Body;

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Polls a future that never waits.
pub fn now_or_never<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the layer's future waited on an inner service that never does"),
    }
}

/// The whole body of a response whose body never waits.
pub fn body_of<B: Body<Data = bytes::Bytes>>(body: B) -> Vec<u8>
where
    B::Error: std::fmt::Debug,
{
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut body = pin!(body);
    let mut out = Vec::new();
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                }
            }
            Poll::Ready(Some(Err(e))) => panic!("body error: {e:?}"),
            Poll::Ready(None) => return out,
            Poll::Pending => panic!("a body that waits"),
        }
    }
}
