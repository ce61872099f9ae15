"""/admin/users: every dashboard user with role, client, state, when created and last signed in;
create (a client user needs a client: the form says so), disable/enable, reset password. Every
handler goes through admin.admin_action."""

from __future__ import annotations

from fastapi import Request
from nicegui import run, ui

from ..services.access import accounts
from ..services.access import clients as client_svc
from ..services.access import users as user_svc
from .admin import admin_action, when
from .guard import PageUser, dashboard_page, storage_outage
from .layout import frame, storage_banner

COLUMNS = (("User", "w-40"), ("Role", "w-16"), ("Client", "w-32"), ("Status", "w-20"), ("Created", "w-36"),
           ("Last sign-in", "w-36"))


def register(runtime) -> None:
    db = runtime.db

    @dashboard_page(runtime, "/admin/users", title="Users · Central Logger", admin=True)
    async def users_page(request: Request, u: PageUser):

        def reset_dialog(username: str) -> None:
            with dialog_host, ui.dialog() as dialog, ui.card().classes("gap-3"):
                ui.label(f"New password for {username}").classes("font-bold")
                pw = ui.input("New password", password=True).mark("reset-password")
                ui.label(f"At least {user_svc.PASSWORD_MIN} characters; their open sessions end.").classes("text-sm opacity-70")

                async def save() -> None:
                    await accounts.reset_password(db, username, pw.value or "", offload=run.io_bound)
                    ui.notify(f"Password changed for {username}", type="positive")
                    dialog.close()

                ui.button("Save", on_click=admin_action(runtime, u, save)).mark("reset-save")
            dialog.open()

        @ui.refreshable
        async def listing() -> None:
            with storage_outage() as outage:
                everyone = await user_svc.list_users(db)
                signed_in = await user_svc.last_sign_ins(db)
            if outage.down:
                storage_banner()
                return
            with ui.row().classes("w-full gap-2 no-wrap text-xs uppercase opacity-70"):
                for title, width in COLUMNS:
                    ui.label(title).classes(width)
            for acct in everyone:
                with ui.row().classes("items-center gap-2 no-wrap w-full text-sm border-b").mark(f"user-{acct.username}"):
                    ui.label(acct.username).classes("w-40 font-bold break-all")
                    ui.label(acct.role).classes("w-16")
                    ui.label(acct.client_id or "—").classes("w-32 font-mono")
                    ui.badge("disabled" if acct.disabled else "active",
                             color="grey" if acct.disabled else "positive").classes("w-20")
                    ui.label(when(acct.created_at)).classes("w-36 opacity-70")
                    ui.label(when(signed_in.get(acct.id)) if acct.id in signed_in else "never").classes("w-36") \
                        .mark(f"last-sign-in-{acct.username}")
                    if acct.id == u.user_id:
                        ui.label("(you)").classes("opacity-70")
                        continue  # disabling yourself would lock the last admin out

                    async def toggle(a=acct) -> None:
                        await accounts.set_user_disabled(db, a.username, not a.disabled)

                    ui.button("Enable" if acct.disabled else "Disable",
                              on_click=admin_action(runtime, u, toggle, listing.refresh)) \
                        .props("flat dense").mark(f"toggle-user-{acct.username}")
                    ui.button("Reset password", on_click=lambda a=acct: reset_dialog(a.username)) \
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
                pw = ui.input("Password", password=True).props("dense").mark("new-password") \
                    .tooltip(f"at least {user_svc.PASSWORD_MIN} characters")
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

                ui.button("Create user", on_click=admin_action(runtime, u, create, listing.refresh)) \
                    .mark("create-user")
            hint = ui.label("A client user sees only the logs of the client chosen here; an admin sees every client.") \
                .classes("text-sm opacity-70").mark("role-hint")
            hint.bind_text_from(role, "value", backward=lambda r: (
                "A client user needs a client: they see only that client's logs." if r == "client"
                else "An admin sees every client and manages clients, keys and users."))
            await listing()
