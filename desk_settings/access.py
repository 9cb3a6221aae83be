"""Who may open the Settings area: managers and admins (anonymous users are
sent to log in; agents and customers get 403). The check is
helpdesk.lib.access.manager_required's."""

from helpdesk.lib.access import manager_required as _manager_required

manager_required = _manager_required(customers=403, agents=403, message="Settings are for managers and admins.")
