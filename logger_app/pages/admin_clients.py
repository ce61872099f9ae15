"""/admin/clients: one dense row per client (works for 50 and more: filter and sort), its activity
from the ingest counters (logs in the last 24 h, refused requests, last ingest), rename, disable,
and its API keys folded under the row. Every handler goes through admin.admin_action."""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from ..services.access import accounts
from ..services.access import clients as client_svc
from ..services.access import keys as key_svc
from ..services.read.ingest_report import client_activity
from .admin import admin_action, when
from .guard import PageUser, dashboard_page, storage_outage
from .layout import frame, storage_banner

SORTS = {"id": "Client id", "logs": "Logs (24 h)", "rejected": "Refused (24 h)", "last": "Last ingest"}
COLUMNS = (("Client", "w-40"), ("Name", "w-52"), ("Status", "w-20"), ("Logs 24 h", "w-24 text-right"),
           ("Refused 24 h", "w-24 text-right"), ("Last ingest (UTC hour)", "w-44"), ("Created", "w-36"))


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

        def rename_dialog(client_id: str, current: str) -> None:
            with dialog_host, ui.dialog() as dialog, ui.card().classes("gap-3"):
                ui.label(f"Rename {client_id}").classes("font-bold")
                name = ui.input("Display name", value=current).props("dense").classes("w-80").mark("rename-name")

                async def save() -> None:
                    await client_svc.rename_client(db, client_id, name.value or "")
                    dialog.close()

                ui.button("Save", on_click=admin_action(runtime, u, save, listing.refresh)).mark("rename-save")
            dialog.open()

        def sort_key(sort: str, activity: dict):
            def key(c):
                seen = activity.get(c.id, {})
                if sort == "logs":
                    return (-seen.get("accepted_24h", 0), c.id)
                if sort == "rejected":
                    return (-seen.get("rejected_24h", 0), c.id)
                if sort == "last":
                    last = seen.get("last_ingest_hour")
                    return (last is None, -(last.timestamp() if last else 0), c.id)
                return (c.id,)
            return key

        @ui.refreshable
        async def listing() -> None:
            with storage_outage() as outage:
                all_clients = await client_svc.list_clients(db)
                all_keys = await key_svc.list_keys(db)
                activity = await client_activity(db, u.principal)
            if outage.down:
                storage_banner()
                return
            needle = (search.value or "").strip().lower()
            shown = [c for c in all_clients if not needle or needle in c.id or needle in c.name.lower()]
            shown.sort(key=sort_key(sort.value, activity))
            ui.label(f"{len(shown)} of {len(all_clients)} clients").classes("text-sm opacity-70").mark("client-count")
            if not all_clients:
                ui.label("No clients yet.")
            with ui.row().classes("w-full gap-2 no-wrap text-xs uppercase opacity-70 px-2"):
                for title, width in COLUMNS:
                    ui.label(title).classes(width)
            for c in shown:
                seen = activity.get(c.id, {})
                keys = [k for k in all_keys if k.client_id == c.id]
                with ui.column().classes("w-full gap-0 border-b px-2").mark(f"client-{c.id}"):
                    with ui.row().classes("w-full gap-2 no-wrap items-center text-sm"):
                        ui.label(c.id).classes("w-40 font-bold font-mono break-all")
                        ui.label(c.name).classes("w-52 break-all")
                        ui.badge("disabled" if c.disabled else "active", color="grey" if c.disabled else "positive").classes("w-20")
                        ui.label(f"{seen.get('accepted_24h', 0):,}").classes("w-24 text-right").mark(f"logs-24h-{c.id}")
                        refused = seen.get("rejected_24h", 0)
                        ui.label(f"{refused:,}").classes("w-24 text-right" + (" text-negative font-bold" if refused else "")) \
                            .mark(f"rejected-24h-{c.id}")
                        ui.label(when(seen.get("last_ingest_hour"))).classes("w-44").mark(f"last-ingest-{c.id}")
                        ui.label(when(c.created_at)).classes("w-36 opacity-70")
                        ui.space()
                        ui.button("Rename", on_click=lambda cid=c.id, name=c.name: rename_dialog(cid, name)) \
                            .props("flat dense").mark(f"rename-{c.id}")

                        def toggle(cid=c.id, off=not c.disabled):
                            return accounts.set_client_disabled(db, cid, off)
                        ui.button("Enable" if c.disabled else "Disable", on_click=admin_action(runtime, u, toggle, listing.refresh)) \
                            .props("flat dense").mark(f"toggle-client-{c.id}")
                    active = sum(k.revoked_at is None for k in keys)
                    with ui.expansion(f"API keys ({active} active, {len(keys) - active} revoked)").props("dense") \
                            .classes("w-full text-sm"):
                        for k in keys:
                            with ui.row().classes("items-center gap-4 text-sm").mark(f"key-{k.prefix}"):
                                ui.label(f"{k.prefix}…").classes("font-mono")
                                ui.label(k.label or "(no label)")
                                ui.label(f"created {when(k.created_at)}")
                                ui.label(f"last used {when(k.last_used_at)}")
                                ui.label(key_svc.key_status(k))
                                if k.revoked_at is None:
                                    revoke = lambda p=k.prefix: key_svc.revoke_key(db, p)  # noqa: E731
                                    ui.button("Revoke", on_click=admin_action(runtime, u, revoke, listing.refresh)) \
                                        .props("flat dense color=negative").mark(f"revoke-{k.prefix}")
                        with ui.row().classes("items-center gap-2"):
                            label = ui.input("Key label").props("dense").mark(f"key-label-{c.id}")

                            async def make_key(cid=c.id, label=label) -> None:
                                created = await key_svc.create_key(db, cid, label.value or "")
                                show_key_once(created)

                            ui.button("Create key", on_click=admin_action(runtime, u, make_key, listing.refresh)) \
                                .props("dense").mark(f"create-key-{c.id}")

        with frame(runtime, u, "Clients", "clients"):
            dialog_host = ui.element()
            with ui.row().classes("items-end gap-2 w-full"):
                new_id = ui.input("Client id", placeholder="acme").props("dense").mark("new-client-id") \
                    .tooltip("lower-case letters, digits, - and _")
                new_name = ui.input("Display name").props("dense").mark("new-client-name")

                async def create() -> None:
                    await client_svc.create_client(db, (new_id.value or "").strip(), (new_name.value or "").strip())
                    ui.notify(f"Client {new_id.value} created", type="positive")
                    new_id.value = new_name.value = ""

                ui.button("Create client", on_click=admin_action(runtime, u, create, listing.refresh)).mark("create-client")
                ui.space()
                # Filter and sort re-read from the database (rechecking the session) like every other event.
                search = ui.input("Filter clients").props("dense clearable").classes("w-56").mark("client-filter")
                sort = ui.select(SORTS, value="id", label="Sort by").props("dense").classes("w-44").mark("client-sort")

                async def reload() -> None:
                    listing.refresh()

                search.on_value_change(admin_action(runtime, u, reload))
                sort.on_value_change(admin_action(runtime, u, reload))
            await listing()
