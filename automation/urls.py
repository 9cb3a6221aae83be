"""Settings → macros, routing rules, shared views (mounted by helpdesk.urls)."""

from django.urls import path

from automation import views

app_name = "automation"

urlpatterns = [
    path("macros/", views.macro_list, name="macro-list"),
    path("macros/new/", views.macro_edit, name="macro-create"),
    path("macros/preview/", views.macro_preview, name="macro-preview"),
    path("macros/<int:macro_id>/", views.macro_edit, name="macro-edit"),
    path("macros/<int:macro_id>/toggle/", views.macro_toggle, name="macro-toggle"),
    path("routing/", views.rule_list, name="rule-list"),
    path("routing/new/", views.rule_edit, name="rule-create"),
    path("routing/<int:rule_id>/", views.rule_edit, name="rule-edit"),
    path("routing/<int:rule_id>/move/<str:direction>/", views.rule_move, name="rule-move"),
    path("routing/<int:rule_id>/toggle/", views.rule_toggle, name="rule-toggle"),
    path("views/", views.view_list, name="view-list"),
    path("views/new/", views.view_edit, name="view-create"),
    path("views/<int:view_id>/", views.view_edit, name="view-edit"),
    path("views/<int:view_id>/move/<str:direction>/", views.view_move, name="view-move"),
    path("views/<int:view_id>/toggle/", views.view_toggle, name="view-toggle"),
]
