//! Rights verbs: release-right actions (shipping agent and holders), pickup rights (truck) and
//! barge/rail pickup rights.

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{now_iso, HttpCall, VResult, VerbContext};
use crate::scenario::model::{BargeRailPickupRightArgs, PickupRightArgs, ReleaseRightArgs};
use cpu_contract::paths;

pub(super) fn release_right(a: &ReleaseRightArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let equipment = ctx.r(&a.equipment)?;
    let action = ctx
        .ro(a.action.as_ref())?
        .unwrap_or_else(|| "Release".to_owned());
    let mut body = Map::new();
    body.insert("equipmentNumber".into(), json!(equipment));
    body.insert("portLoCode".into(), json!(locode));
    body.insert(
        "terminalCode".into(),
        json!(ctx.terminal_code(Some(
            &a.terminal.clone().unwrap_or_else(|| "psa".to_owned())
        ))?),
    );
    body.insert("actionType".into(), json!(action));
    let from = match &a.from {
        Some(f) => Some(ctx.identification(&Value::String(f.clone()))?),
        None => ctx
            .acting
            .map(|p| ctx.identification(&Value::String(p.to_owned())))
            .transpose()?,
    };
    if let Some(from) = from {
        body.insert("releaseFrom".into(), from);
    }
    if let Some(to) = &a.to {
        body.insert(
            "releaseTo".into(),
            ctx.identification(&Value::String(to.clone()))?,
        );
    }
    if let Some(c) = &a.carrier {
        body.insert("carrier".into(), ctx.identification(c)?);
    }
    if let Some(r) = ctx.ro(a.release_identification.as_ref())? {
        body.insert("releaseIdentification".into(), json!(r));
    }
    if let Some(bls) = &a.bill_of_lading_numbers {
        let bls: Vec<String> = bls.iter().map(|b| ctx.r(b)).collect::<VResult<_>>()?;
        body.insert("billOfLadingNumbers".into(), json!(bls));
    }
    if let Some(r) = ctx.ro(a.reason.as_ref())? {
        body.insert("reasonForAction".into(), json!(r));
    }
    let release_time = ctx.ro(a.release_date_time_utc.as_ref())?;
    if let Some(t) = release_time {
        body.insert("releaseDateTimeUtc".into(), json!(t));
    } else if action == "Release" {
        body.insert("releaseDateTimeUtc".into(), json!(now_iso()));
    }
    if let Some(t) = ctx.ro(a.expiration_date_time_utc.as_ref())? {
        body.insert("expirationDateTimeUtc".into(), json!(t));
    }
    if let Some(t) = ctx.ro(a.valid_from.as_ref())? {
        body.insert("validFrom".into(), json!(t));
    }
    if let Some(id) = ctx.ro(a.release_id.as_ref())? {
        body.insert("releaseId".into(), json!(id));
    }
    Ok(HttpCall::new(
        Method::PUT,
        paths::release_rights(&locode, &equipment),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body)))
}

pub(super) fn pickup_right(a: &PickupRightArgs, ctx: &VerbContext<'_>) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let equipment = ctx.r(&a.equipment)?;
    let alfapass = match ctx.ro(a.alfapass.as_ref())? {
        Some(a) => a,
        None => ctx.acting_alfapass().ok_or_else(|| {
            "no Alfapass: give `alfapass:` or act as a party with alfapassNumbers".to_owned()
        })?,
    };
    let bls: Vec<String> = a
        .bill_of_lading_numbers
        .iter()
        .map(|b| ctx.r(b))
        .collect::<VResult<_>>()?;
    let mut body = Map::new();
    body.insert(
        "terminalCode".into(),
        json!(ctx.terminal_code(Some(
            &a.terminal.clone().unwrap_or_else(|| "psa".to_owned())
        ))?),
    );
    body.insert("billOfLadingNumbers".into(), json!(bls));
    if let Some(r) = ctx.ro(a.release_identification.as_ref())? {
        body.insert("releaseIdentification".into(), json!(r));
    }
    body.insert(
        "pickupParty".into(),
        json!({
            "partyType": ctx.ro(a.party_type.as_ref())?.unwrap_or_else(|| "Truck".to_owned()),
            "identificationType": ctx.ro(a.identification_type.as_ref())?.unwrap_or_else(|| "Alfapass".to_owned()),
            "identificationCode": alfapass,
        }),
    );
    body.insert("timestamp".into(), json!(now_iso()));
    body.insert(
        "actionType".into(),
        json!(ctx
            .ro(a.action.as_ref())?
            .unwrap_or_else(|| "Assign".to_owned())),
    );
    body.insert("equipmentNumber".into(), json!(equipment));
    body.insert("portLoCode".into(), json!(locode));
    if let Some(id) = ctx.ro(a.release_id.as_ref())? {
        body.insert("releaseId".into(), json!(id));
    }
    Ok(HttpCall::new(
        Method::PUT,
        paths::pickup_rights(&locode, &equipment),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body)))
}

pub(super) fn barge_rail_pickup_right(
    a: &BargeRailPickupRightArgs,
    ctx: &VerbContext<'_>,
) -> VResult<HttpCall> {
    let broker = match &a.data_broker {
        Some(b) => ctx.entity_id(b)?,
        None => ctx
            .acting_field("nxtEntityId")
            .ok_or_else(|| "no data broker: give `dataBroker:`".to_owned())?,
    };
    let bls: Vec<String> = a
        .bill_of_lading_numbers
        .iter()
        .map(|b| ctx.r(b))
        .collect::<VResult<_>>()?;
    let mut identifier = json!({
        "billOfLadingNumbers": bls,
        "equipmentNumber": ctx.r(&a.equipment)?,
    });
    if let (Some(r), Some(obj)) = (
        ctx.ro(a.release_identification.as_ref())?,
        identifier.as_object_mut(),
    ) {
        obj.insert("releaseIdentification".into(), json!(r));
    }
    let mut body = json!({
        "terminalCode": ctx.terminal_code(Some(&a.terminal.clone().unwrap_or_else(|| "psa".to_owned())))?,
        "releaseIdentifier": identifier,
        "dataBrokerNxtEntityId": broker,
        "actionType": ctx.ro(a.action.as_ref())?.unwrap_or_else(|| "Assign".to_owned()),
    });
    if let (Some(id), Some(obj)) = (ctx.ro(a.release_id.as_ref())?, body.as_object_mut()) {
        obj.insert("releaseId".into(), json!(id));
    }
    Ok(HttpCall::new(
        Method::PUT,
        paths::barge_rail_pickup_rights(),
        ctx.acting.map(str::to_owned),
    )
    .json(body))
}
