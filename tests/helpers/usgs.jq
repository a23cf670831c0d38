# usgs.jq: the event projection of csa(7), written independently in jq, to
# check csa-usgs-fetch field by field.  Input: one GeoJSON feature.
def region:
  .geometry.coordinates as [$lon, $lat]
  | if $lat > 50 then "alaska"
    elif ($lat > 18 and $lat < 22 and $lon > -162 and $lon < -154) then "hawaii"
    elif $lon < -115 then "us-west"
    elif $lon < -90 then "us-central"
    else "us-east" end;
def event:
  { event_id: .id,
    magnitude: .properties.mag,
    place: .properties.place,
    time: .properties.time,
    updated: (.properties.updated // .properties.time),
    longitude: .geometry.coordinates[0],
    latitude: .geometry.coordinates[1],
    depth_km: .geometry.coordinates[2],
    event_type: .properties.type,
    tsunami_flag: .properties.tsunami,
    alert_level: .properties.alert,
    status: .properties.status,
    mag_type: .properties.magType,
    net: .properties.net,
    ids: .properties.ids,
    source: "usgs",
    region: region };
# Every id a feature goes by: its id and the ids of its "ids" list.
def all_ids: [.id] + ((.properties.ids // "") | split(",") | map(select(. != "")));
