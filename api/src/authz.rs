//! Authorization declared in a handler's signature: `Authorized<res::Claim, act::Create>`
//! authenticates the caller and checks the permission matrix while the request is being
//! extracted, before the body is read or validated. A caller without the permission gets 403
//! whatever they sent, and learns nothing from validation errors.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use revcycle_core::access::{Action, Principal, Resource};

use crate::auth::principal::Auth;
use crate::auth::require;
use crate::problem::ApiError;
use crate::request_audit::context::{AuditCtx, note};

pub trait ResourceMarker {
    const RESOURCE: Resource;
}

pub trait ActionMarker {
    const ACTION: Action;
}

macro_rules! markers {
    ($trait:ident, $konst:ident, $enum:ident: $($name:ident),*) => {$(
        pub struct $name;
        impl super::$trait for $name {
            const $konst: $enum = $enum::$name;
        }
    )*};
}

/// Resources, as type-level names for [`Authorized`].
pub mod res {
    use revcycle_core::access::Resource;
    markers!(ResourceMarker, RESOURCE, Resource: Payer, Provider, Patient, Coverage, Encounter, Claim, Remittance, Denial, ChargeMaster);
}

/// Actions, as type-level names for [`Authorized`].
pub mod act {
    use revcycle_core::access::Action;
    markers!(ActionMarker, ACTION, Action: Read, Search, Create, Update, Void, Export, Post, Submit, WriteOff);
}

/// An authenticated caller allowed to perform `A` on `R`.
pub struct Authorized<R, A> {
    pub who: Principal,
    /// For writes: records the request's audit event in the write's transaction.
    pub audit: AuditCtx,
    // Only this module's extractor makes one, so holding one proves the check ran.
    checked: PhantomData<(R, A)>,
}

impl<R: ResourceMarker + 'static, A: ActionMarker + 'static> FromRequest for Authorized<R, A> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        note(req, A::ACTION.name(), Some(R::RESOURCE.name()));
        let auth = Auth::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let Auth(who) = auth.await?;
            require(&who, R::RESOURCE, A::ACTION)?;
            let audit = AuditCtx::new(&req, &who, A::ACTION.name(), R::RESOURCE.name());
            Ok(Authorized {
                who,
                audit,
                checked: PhantomData,
            })
        })
    }
}

pub trait CapabilityMarker {
    const CAPABILITY: revcycle_core::access::Capability;
    /// The kind of record the capability manages, as audit events name it.
    const RESOURCE: &'static str;
}

/// Organization-wide capabilities, as type-level names for [`Capable`].
pub mod cap {
    use revcycle_core::access::Capability;

    /// Webhook subscriptions.
    pub struct EventsManage;
    impl super::CapabilityMarker for EventsManage {
        const CAPABILITY: Capability = Capability::EventsManage;
        const RESOURCE: &'static str = "Subscription";
    }

    /// The practice's statement profile.
    pub struct PracticeManage;
    impl super::CapabilityMarker for PracticeManage {
        const CAPABILITY: Capability = Capability::PracticeManage;
        const RESOURCE: &'static str = "StatementProfile";
    }
}

/// An authenticated caller holding capability `C`, doing `A` on what it manages: checked
/// while the request is extracted, before its body is read, as for [`Authorized`].
pub struct Capable<C, A> {
    pub who: Principal,
    /// For writes: records the request's audit event in the write's transaction.
    pub audit: AuditCtx,
    checked: PhantomData<(C, A)>,
}

impl<C: CapabilityMarker + 'static, A: ActionMarker + 'static> FromRequest for Capable<C, A> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        note(req, A::ACTION.name(), Some(C::RESOURCE));
        let auth = Auth::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let Auth(who) = auth.await?;
            crate::auth::require_capability(&who, C::CAPABILITY)?;
            let audit = AuditCtx::new(&req, &who, A::ACTION.name(), C::RESOURCE);
            Ok(Capable {
                who,
                audit,
                checked: PhantomData,
            })
        })
    }
}
