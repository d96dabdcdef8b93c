//! Read verbs: the release detail, the registry (phone book) and the notifications.

use reqwest::Method;

use super::requests::scalar_text;
use super::{HttpCall, VResult, VerbContext};
use crate::scenario::model::{NotificationQuery, RegistryArgs, ReleaseDetailArgs};
use crate::scenario::template::Vars;
use cpu_contract::paths;

pub(super) fn release_detail(a: &ReleaseDetailArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let mut call = HttpCall::new(
        Method::GET,
        paths::release_detail(&locode, &ctx.r(&a.equipment)?),
        ctx.acting.map(str::to_owned),
    );
    if !a.bill_of_lading_numbers.is_empty() {
        let bls: Vec<String> = a
            .bill_of_lading_numbers
            .iter()
            .map(|b| ctx.r(b))
            .collect::<VResult<_>>()?;
        // `style: form, explode: false`: one comma-separated value.
        call.query
            .push(("billOfLadingNumbers".to_owned(), bls.join(",")));
    }
    if let Some(r) = ctx.ro(a.release_identification.as_ref())? {
        call.query.push(("releaseIdentification".to_owned(), r));
    }
    Ok(call)
}

pub(super) fn registry(a: &RegistryArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let mut call = HttpCall::new(
        Method::GET,
        paths::entities(),
        ctx.acting.map(str::to_owned),
    );
    let pairs = [
        ("EORI", a.eori.as_ref()),
        ("DUNS", a.duns.as_ref()),
        ("VAT", a.vat.as_ref()),
        ("NxtEntityId", a.nxt_entity_id.as_ref()),
        ("entityName", a.entity_name.as_ref()),
        ("apcsCode", a.apcs_code.as_ref()),
    ];
    for (name, value) in pairs {
        if let Some(v) = ctx.ro(value)? {
            call.query.push((name.to_owned(), v));
        }
    }
    for (name, value) in [("page", &a.page), ("pageSize", &a.page_size)] {
        if let Some(v) = value {
            call.query.push((name.to_owned(), scalar_text(&ctx.rv(v)?)));
        }
    }
    Ok(call)
}

/// The query pairs of a notification query (rendered).
pub fn notification_query(q: &NotificationQuery, vars: &Vars) -> VResult<Vec<(String, String)>> {
    let pairs = [
        ("notificationEvent", q.notification_event.as_ref()),
        ("equipmentNumber", q.equipment_number.as_ref()),
        ("publicReferenceId", q.public_reference_id.as_ref()),
        ("releaseId", q.release_id.as_ref()),
        ("storedOn", q.stored_on.as_ref()),
        ("timeWindowFrom", q.time_window_from.as_ref()),
        ("timeWindowTo", q.time_window_to.as_ref()),
    ];
    let mut out = Vec::new();
    for (name, value) in pairs {
        if let Some(v) = value {
            out.push((
                name.to_owned(),
                vars.render_str(v).map_err(|e| e.to_string())?,
            ));
        }
    }
    Ok(out)
}

pub(super) fn notifications(a: &NotificationQuery, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let mut call = HttpCall::new(
        Method::GET,
        paths::notifications(),
        ctx.acting.map(str::to_owned),
    );
    call.query = notification_query(a, ctx.vars)?;
    Ok(call)
}
