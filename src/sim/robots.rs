//! Group robots on loopback as WeCom, DingTalk and Feishu run them, at
//! `/wecom/…`, `/dingtalk/…` and `/feishu/…`: each checks its signature
//! (DingTalk's in the query, Feishu's in the body, within an hour of its
//! clock), its format and its size limit, and answers HTTP 200 with the
//! real error codes. A path can be made to answer a given code (a robot
//! removed: WeCom `93000`).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use super::tls::TcpServer;
use super::web::serve_requests;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{Value, json};

use crate::alerts::robots::{Robot, dingtalk_sign, feishu_sign};

/// One message a robot accepted.
#[derive(Debug, Clone)]
pub struct Posted {
    pub path: String,
    pub body: Value,
    /// When it arrived.
    pub at: std::time::Instant,
}

#[derive(Debug, Default)]
struct State {
    posted: Vec<Posted>,
    /// Paths answering an error code instead.
    codes: HashMap<String, i64>,
    /// Paths accepting so many more requests, then answering an error
    /// code once.
    once: HashMap<String, (usize, i64)>,
    /// WeCom paths whose content limit is lower than the real 4,096
    /// bytes (a robot that says "too long" to what siteward thought fit).
    max_content: HashMap<String, usize>,
    /// Each robot's rate limit, as the real ones keep it: at most so many
    /// messages per path in a window; over it, the robot's own code.
    rate: Option<(usize, std::time::Duration)>,
    arrivals: HashMap<String, std::collections::VecDeque<std::time::Instant>>,
    /// Every error code answered, by path.
    refused: Vec<(String, i64)>,
}

/// The robots; they stop when dropped.
#[derive(Debug)]
pub struct Robots {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _server: TcpServer,
}

impl Robots {
    /// Listens on 127.0.0.1; `secret` is the DingTalk and Feishu robots'.
    pub async fn start(secret: &str) -> io::Result<Robots> {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let secret = Arc::new(secret.to_string());
        let server = serve_requests((std::net::Ipv4Addr::LOCALHOST, 0).into(), move |request| {
            let state = shared.clone();
            let secret = secret.clone();
            async move { answer(request, &state, &secret).await }
        })
        .await?;
        Ok(Robots {
            addr: server.addr,
            state,
            _server: server,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `path` answers `code` from now on (0: accepts again).
    pub fn answer_with(&self, path: &str, code: i64) {
        self.lock().codes.insert(path.to_string(), code);
    }

    /// `path` answers `code` to its next request, then accepts again.
    pub fn answer_once(&self, path: &str, code: i64) {
        self.fail_after(path, 0, code);
    }

    /// `path` accepts `accepted` more requests, then answers `code` once
    /// (a part of a split message refused after the first ones arrived).
    pub fn fail_after(&self, path: &str, accepted: usize, code: i64) {
        self.lock().once.insert(path.to_string(), (accepted, code));
    }

    /// The WeCom robot at `path` refuses content over `bytes` (45002).
    pub fn max_content(&self, path: &str, bytes: usize) {
        self.lock().max_content.insert(path.to_string(), bytes);
    }

    /// Every robot keeps at most `count` messages per `window` per path,
    /// refusing more with its own code (WeCom 45009, DingTalk 130101,
    /// Feishu 9499).
    pub fn rate_limit(&self, count: usize, window: std::time::Duration) {
        self.lock().rate = Some((count, window));
    }

    pub fn posted(&self) -> Vec<Posted> {
        self.lock().posted.clone()
    }

    /// The error codes answered so far, with their paths.
    pub fn refused(&self) -> Vec<(String, i64)> {
        self.lock().refused.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn reply(body: Value) -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from(body.to_string())))
}

async fn answer(
    request: Request<Incoming>,
    state: &Mutex<State>,
    secret: &str,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let robot = if path.starts_with("/wecom/") {
        Robot::Wecom
    } else if path.starts_with("/dingtalk/") {
        Robot::Dingtalk
    } else if path.starts_with("/feishu/") {
        Robot::Feishu
    } else {
        return reply(json!({"errcode": 404, "errmsg": "no such robot"}));
    };
    let Ok(bytes) = request.into_body().collect().await else {
        return reply(json!({"errcode": -1, "errmsg": "system busy"}));
    };
    let bytes = bytes.to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let now = chrono::Utc::now();
    let error = |code: i64, message: &str| {
        if code != 0 {
            state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .refused
                .push((path.clone(), code));
        }
        match robot {
            Robot::Feishu => reply(json!({"code": code, "msg": message})),
            _ => reply(json!({"errcode": code, "errmsg": message})),
        }
    };
    let (told, over_rate, max_content) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let once = match s.once.get_mut(&path) {
            Some((0, code)) => Some(*code),
            Some((left, _)) => {
                *left -= 1;
                None
            }
            None => None,
        };
        if once.is_some() {
            s.once.remove(&path);
        }
        let told = once
            .or_else(|| s.codes.get(&path).copied())
            .filter(|c| *c != 0);
        let over_rate = match s.rate {
            Some((count, window)) => {
                let at = std::time::Instant::now();
                let arrivals = s.arrivals.entry(path.clone()).or_default();
                while arrivals
                    .front()
                    .is_some_and(|t| at.duration_since(*t) >= window)
                {
                    arrivals.pop_front();
                }
                let over = arrivals.len() >= count;
                if !over {
                    arrivals.push_back(at);
                }
                over
            }
            None => false,
        };
        (told, over_rate, s.max_content.get(&path).copied())
    };
    if let Some(code) = told {
        return error(code, "as told");
    }
    if over_rate {
        return match robot {
            Robot::Wecom => error(45009, "api freq out of limit"),
            Robot::Dingtalk => error(130101, "send too fast, exceed 20 times per minute"),
            Robot::Feishu => error(9499, "too many request"),
        };
    }
    match robot {
        Robot::Wecom => {
            let Some(content) = body["markdown"]["content"].as_str() else {
                return error(40008, "invalid message type");
            };
            if content.len() > Robot::Wecom.limit() {
                return error(40058, "content exceed max length 4096");
            }
            if max_content.is_some_and(|max| content.len() > max) {
                return error(45002, "content size exceed limit");
            }
        }
        Robot::Dingtalk => {
            let ts: i64 = query
                .get("timestamp")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let fresh = (now.timestamp_millis() - ts).abs() < 3_600_000;
            if !fresh || query.get("sign") != Some(&dingtalk_sign(secret, ts)) {
                return error(310000, "sign not match");
            }
            if bytes.len() > Robot::Dingtalk.limit() || body["markdown"]["text"].as_str().is_none()
            {
                return error(460101, "message too long or malformed");
            }
        }
        Robot::Feishu => {
            let ts: i64 = body["timestamp"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let fresh = (now.timestamp() - ts).abs() < 3_600;
            if !fresh || body["sign"].as_str() != Some(feishu_sign(secret, ts).as_str()) {
                return error(
                    19021,
                    "sign match fail or timestamp is not within one hour from current time",
                );
            }
            if bytes.len() > Robot::Feishu.limit() || body["msg_type"] != "post" {
                return error(9499, "bad request");
            }
        }
    }
    state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .posted
        .push(Posted {
            path: path.clone(),
            body,
            at: std::time::Instant::now(),
        });
    error(0, "ok")
}
