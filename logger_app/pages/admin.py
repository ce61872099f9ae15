"""/admin/clients and /admin/users: the provider's tenant, key and account management.

The pages render only for admins, and every handler re-checks the session and the role on the
server: a page built for an admin stays open in a browser after the admin was demoted or logged
out, and a websocket event must not inherit the rights the page had when it was built."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from nicegui import run, ui

from ..services.access import accounts
from ..services.access import clients as client_svc
from ..services.access import keys as key_svc
from ..services.access import users as user_svc
from ..services.errors import ServiceError
from .guard import PageUser, dashboard_page, still_valid, storage_outage
from .layout import frame, storage_banner


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def _admin_action(runtime, user: PageUser, work: Callable[[], Awaitable[None]],
                  after: Callable[[], None] | None = None) -> Callable[[], Awaitable[None]]:
    """Wrap a handler: re-check the session and role, run it, report failures as notifications."""

    async def handler() -> None:
        if not await still_valid(runtime, user) or user.role != "admin":
            ui.navigate.to("/login")
            return
        with storage_outage() as outage:
            try:
                await work()
            except ServiceError as exc:
                ui.notify(exc.message, type="negative")
                return
        if outage.down:
            ui.notify("Storage unavailable — try again shortly", type="negative")
            return
        if after:
            after()

    return handler


def register(runtime) -> None:
    db = runtime.db

    @dashboard_page(runtime, "/admin/clients", title="Clients · Central Logger", admin=True)
    async def clients_page(request: Request, u: PageUser):

        def show_key_once(created: key_svc.CreatedKey) -> None:
            # Built outside the refreshable listing, which the same click is about to rebuild.
            with dialog_host, ui.dialog() as dialog, ui.card().classes("gap-3"):
                ui.label(f"New key for {created.client_id}").classes("text-lg font-bold")
                ui.label("Copy it now: it is shown only this once and cannot be recovered.")
                ui.input(value=created.key).props("readonly outlined dense").classes("w-[34rem]").mark("new-key")
                with ui.row():
                    ui.button("Copy", icon="content_copy",
                              on_click=lambda: (ui.clipboard.write(created.key), ui.notify("Copied")))
                    ui.button("Done", on_click=lambda: (dialog.close(), dialog.delete())).mark("key-done")
            dialog.open()

        @ui.refreshable
        async def listing() -> None:
            with storage_outage() as outage:
                all_clients = await client_svc.list_clients(db)
                all_keys = await key_svc.list_keys(db)
            if outage.down:
                storage_banner()
                return
            if not all_clients:
                ui.label("No clients yet.")
            for c in all_clients:
                with ui.card().classes("w-full").mark(f"client-{c.id}"):
                    with ui.row().classes("items-center gap-4 w-full"):
                        ui.label(c.id).classes("font-bold")
                        ui.label(c.name)
                        ui.badge("disabled" if c.disabled else "active", color="grey" if c.disabled else "positive")
                        ui.label(f"created {_when(c.created_at)}").classes("text-sm opacity-70")
                        ui.space()
                        def toggle(cid=c.id, off=not c.disabled):
                            return accounts.set_client_disabled(db, cid, off)
                        ui.button("Enable" if c.disabled else "Disable",
                                  on_click=_admin_action(runtime, u, toggle, listing.refresh)) \
                            .props("flat").mark(f"toggle-client-{c.id}")
                    rows = [k for k in all_keys if k.client_id == c.id]
                    for k in rows:
                        with ui.row().classes("items-center gap-4 text-sm").mark(f"key-{k.prefix}"):
                            ui.label(f"{k.prefix}…").classes("font-mono")
                            ui.label(k.label or "(no label)")
                            ui.label(f"created {_when(k.created_at)}")
                            ui.label(f"last used {_when(k.last_used_at)}")
                            ui.label(key_svc.key_status(k))
                            if k.revoked_at is None:
                                revoke = lambda p=k.prefix: key_svc.revoke_key(db, p)  # noqa: E731
                                ui.button("Revoke", on_click=_admin_action(runtime, u, revoke, listing.refresh)) \
                                    .props("flat dense color=negative").mark(f"revoke-{k.prefix}")
                    with ui.row().classes("items-center gap-2"):
                        label = ui.input("Key label").props("dense").mark(f"key-label-{c.id}")

                        async def make_key(cid=c.id, label=label) -> None:
                            created = await key_svc.create_key(db, cid, label.value or "")
                            show_key_once(created)

                        ui.button("Create key", on_click=_admin_action(runtime, u, make_key, listing.refresh)) \
                            .props("dense").mark(f"create-key-{c.id}")

        with frame(runtime, u, "Clients", "clients"):
            dialog_host = ui.element()
            with ui.row().classes("items-end gap-2"):
                new_id = ui.input("Client id", placeholder="acme").props("dense").mark("new-client-id")
                new_name = ui.input("Display name").props("dense").mark("new-client-name")

                async def create() -> None:
                    await client_svc.create_client(db, (new_id.value or "").strip(), (new_name.value or "").strip())
                    ui.notify(f"Client {new_id.value} created", type="positive")
                    new_id.value = new_name.value = ""

                ui.button("Create client", on_click=_admin_action(runtime, u, create, listing.refresh)) \
                    .mark("create-client")
            await listing()

    @dashboard_page(runtime, "/admin/users", title="Users · Central Logger", admin=True)
    async def users_page(request: Request, u: PageUser):

        def reset_dialog(username: str, user_id: int) -> None:
            with dialog_host, ui.dialog() as dialog, ui.card().classes("gap-3"):
                ui.label(f"New password for {username}").classes("font-bold")
                pw = ui.input("New password", password=True).mark("reset-password")

                async def save() -> None:
                    await accounts.reset_password(db, username, pw.value or "", offload=run.io_bound)
                    ui.notify(f"Password changed for {username}", type="positive")
                    dialog.close()

                ui.button("Save", on_click=_admin_action(runtime, u, save)).mark("reset-save")
            dialog.open()

        @ui.refreshable
        async def listing() -> None:
            with storage_outage() as outage:
                everyone = await user_svc.list_users(db)
            if outage.down:
                storage_banner()
                return
            for acct in everyone:
                with ui.row().classes("items-center gap-4 w-full").mark(f"user-{acct.username}"):
                    ui.label(acct.username).classes("font-bold min-w-32")
                    ui.label(acct.role)
                    ui.label(acct.client_id or "—")
                    ui.badge("disabled" if acct.disabled else "active",
                             color="grey" if acct.disabled else "positive")
                    if acct.id == u.user_id:
                        ui.label("(you)").classes("opacity-70")
                        continue  # disabling yourself would lock the last admin out

                    async def toggle(a=acct) -> None:
                        await accounts.set_user_disabled(db, a.username, not a.disabled)

                    ui.button("Enable" if acct.disabled else "Disable",
                              on_click=_admin_action(runtime, u, toggle, listing.refresh)) \
                        .props("flat dense").mark(f"toggle-user-{acct.username}")
                    ui.button("Reset password", on_click=lambda a=acct: reset_dialog(a.username, a.id)) \
                        .props("flat dense").mark(f"reset-{acct.username}")

        client_ids: list[str] = []
        with storage_outage() as outage:
            client_ids = [c.id for c in await client_svc.list_clients(db)]
        if outage.down:
            storage_banner()

        with frame(runtime, u, "Users", "users"):
            dialog_host = ui.element()
            with ui.row().classes("items-end gap-2"):
                name = ui.input("Username").props("dense").mark("new-username")
                pw = ui.input("Password", password=True).props("dense").mark("new-password")
                role = ui.select(["client", "admin"], value="client", label="Role").props("dense") \
                    .classes("min-w-28").mark("new-role")
                client = ui.select(client_ids, label="Client").props("dense").classes("min-w-40") \
                    .mark("new-client").bind_visibility_from(role, "value", value="client")

                async def create() -> None:
                    await user_svc.create_user(db, (name.value or "").strip(), pw.value or "", role.value,
                                               client.value if role.value == "client" else None,
                                               offload=run.io_bound)
                    ui.notify(f"User {name.value} created", type="positive")
                    name.value = pw.value = ""

                ui.button("Create user", on_click=_admin_action(runtime, u, create, listing.refresh)) \
                    .mark("create-user")
            await listing()
