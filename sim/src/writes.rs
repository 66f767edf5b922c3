//! The write routes, with the statuses and bodies of the wire reference: `POST
//! /api/systemusers` (200 with the user), `PUT` and `DELETE /api/systemusers/{id}`, `POST
//! /api/v2/usergroups` (201 with the group) and `POST /api/v2/{user,system}groups/{id}/members`
//! (204). `data::writes` checks a request against the primary tenant and says what it
//! changes; here it is committed (`SimState::commit`, which also queues it for the lagged
//! read copy), counted, and answered. Errors: v1 400s carry the ErrorDetails body
//! (`{code, message, status, details}`), a duplicate user is 400 or 409 as the
//! `duplicate_user_status` knob says, a manager still in use is 409 `FAILED_PRECONDITION`,
//! and the v2 routes answer 409 `Already Exists` / 404 `Not Found`.

use chrono::Utc;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::data::{Rejection, Write};
use crate::http::{error, full, json_response, Body, Family};
use crate::state::{lock, write, Caller, Faults, SimState};

/// Whether `method` writes (the methods the `applied_then_*` knobs act on).
pub(crate) fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::DELETE)
}

/// The answer of a write route, or None when (`method`, `path`) is not one (reads and
/// their 405s are elsewhere).
pub(crate) fn handle(
    state: &SimState,
    caller: &Caller,
    faults: &Faults,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Option<Response<Body>> {
    let (fam, rest) = match path.strip_prefix("/api/v2/") {
        Some(rest) => (Family::V2, rest),
        None => (Family::V1, path.strip_prefix("/api/")?),
    };
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let route = match (fam, method.clone(), segs.as_slice()) {
        (Family::V1, Method::POST, ["systemusers"]) => Route::CreateUser,
        (Family::V1, Method::PUT, ["systemusers", id]) => Route::UpdateUser(id),
        (Family::V1, Method::DELETE, ["systemusers", id]) => Route::DeleteUser(id),
        (Family::V2, Method::POST, ["usergroups"]) => Route::CreateGroup,
        (Family::V2, Method::POST, [coll @ ("usergroups" | "systemgroups"), id, "members"]) => {
            Route::Members(coll, id)
        }
        _ => return None,
    };
    // A body that is not JSON is no object: each route answers 400 for it.
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mut tenants = write(&state.tenants);
    let Some((org, t)) = caller
        .orgs
        .first()
        .and_then(|&o| tenants.get(o).map(|t| (o, t)))
    else {
        return Some(error(fam, StatusCode::NOT_FOUND, "Not Found"));
    };
    let lag = faults.write_lag_ms;
    let now = Utc::now();
    let answer = match route {
        Route::CreateUser => {
            let id = t.fresh_id(&mut lock(&state.write_rng), now);
            match t.new_user(&body, &id, &faults.new_user_state, now) {
                Ok(u) => {
                    state.commit(&mut tenants, org, Write::PutUser(u.clone()), lag);
                    lock(&state.stats).user_creates += 1;
                    json_response(StatusCode::OK, &u)
                }
                Err(r) => reject(fam, r, faults),
            }
        }
        Route::UpdateUser(id) => match t.updated_user(id, &body) {
            Ok(u) => {
                state.commit(&mut tenants, org, Write::PutUser(u.clone()), lag);
                lock(&state.stats).user_updates += 1;
                json_response(StatusCode::OK, &u)
            }
            Err(r) => reject(fam, r, faults),
        },
        Route::DeleteUser(id) => {
            let cascade = form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "cascade_manager")
                .map(|(_, v)| v.into_owned());
            match t.user_deletion(id, cascade.as_deref()) {
                Ok((u, w)) => {
                    state.commit(&mut tenants, org, w, lag);
                    lock(&state.stats).user_deletes += 1;
                    json_response(StatusCode::OK, &u)
                }
                Err(r) => reject(fam, r, faults),
            }
        }
        Route::CreateGroup => {
            let id = t.fresh_id(&mut lock(&state.write_rng), now);
            match t.new_group("usergroups", &body, &id) {
                Ok(g) => {
                    let w = Write::PutGroup {
                        collection: "usergroups",
                        group: g.clone(),
                    };
                    state.commit(&mut tenants, org, w, lag);
                    lock(&state.stats).group_creates += 1;
                    json_response(StatusCode::CREATED, &g)
                }
                Err(r) => reject(fam, r, faults),
            }
        }
        Route::Members(coll, id) => match t.member_change(coll, id, &body) {
            Ok(w) => {
                let add = matches!(w, Write::Member { add: true, .. });
                state.commit(&mut tenants, org, w, lag);
                let mut stats = lock(&state.stats);
                if add {
                    stats.member_adds += 1;
                } else {
                    stats.member_removes += 1;
                }
                let mut r = Response::new(full(Vec::new()));
                *r.status_mut() = StatusCode::NO_CONTENT;
                r
            }
            Err(r) => reject(fam, r, faults),
        },
    };
    Some(answer)
}

enum Route<'a> {
    CreateUser,
    UpdateUser(&'a str),
    DeleteUser(&'a str),
    CreateGroup,
    Members(&'a str, &'a str),
}

/// The v1 ErrorDetails body.
fn details(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"code": status.as_u16(), "message": message, "status": code, "details": []}),
    )
}

fn reject(fam: Family, r: Rejection, faults: &Faults) -> Response<Body> {
    let plain = |status, m: &str| json_response(status, &json!({ "message": m }));
    match (r, fam) {
        (Rejection::Invalid(m), Family::V1) => {
            details(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", &m)
        }
        (Rejection::Invalid(m), _) => error(fam, StatusCode::BAD_REQUEST, &m),
        (Rejection::DuplicateUser, _) if faults.duplicate_user_status == 409 => {
            plain(StatusCode::CONFLICT, "User already exists")
        }
        (Rejection::DuplicateUser, _) => details(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "User already exists",
        ),
        // The service sends no text here, and no `details`.
        (Rejection::HasReports, _) => json_response(
            StatusCode::CONFLICT,
            &json!({"code": 409, "message": "", "status": "FAILED_PRECONDITION"}),
        ),
        (Rejection::AlreadyExists, _) => plain(StatusCode::CONFLICT, "Already Exists"),
        (Rejection::NotFound, _) => plain(StatusCode::NOT_FOUND, "Not Found"),
    }
}
