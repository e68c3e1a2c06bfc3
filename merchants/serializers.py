from rest_framework import serializers

from merchants.models import Merchant, Store


class StoreOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = [
            "id",
            "name",
            "address",
            "region",
            "timezone",
            "latitude",
            "longitude",
            "geofence_radius_m",
            "network_location_ids",
            "is_active",
        ]


class MerchantOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Merchant
        fields = ["slug", "name", "currency", "timezone", "default_language"]


class WhoAmIOutputSerializer(serializers.Serializer):
    merchant = MerchantOutputSerializer()
    key_name = serializers.CharField()
    key_prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
