from django.urls import path

from payments import views

app_name = "payment_sources"

urlpatterns = [
    path("", views.source_list, name="list"),
    path("<int:source_id>/", views.source_detail, name="detail"),
    path("<int:source_id>/edit/", views.source_edit, name="edit"),
    path("<int:source_id>/secret/", views.secret_rotate, name="secret_rotate"),
    path("<int:source_id>/pause/", views.source_pause, name="pause"),
    path("<int:source_id>/resume/", views.source_resume, name="resume"),
    path("<int:source_id>/locations/", views.location_map, name="location_map"),
    path("<int:source_id>/events/replay/", views.events_replay_all, name="events_replay_all"),
    path("<int:source_id>/events/<int:event_id>/replay/", views.event_replay, name="event_replay"),
    path("<int:source_id>/events/<int:event_id>/card/", views.event_card, name="event_card"),
    path("<int:source_id>/deliveries/<int:delivery_id>/replay/", views.delivery_replay, name="delivery_replay"),
]
