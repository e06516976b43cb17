#!/bin/bash
#
# DevStack plugin for vmstate, the state authority for compute instances.
#
#   enable_plugin vmstate https://opendev.org/openstack/vmstate
#   enable_service vmstate-api vmstate-sweeper
#   enable_service vmstate-guard    # optional: the guard in nova-api
#
# Installs vmstate with the driver of DevStack's database, creates its
# database and schema, registers the instance-state service in Keystone,
# serves vmstate-api under uwsgi, runs a sweeper, and with vmstate-guard
# inserts the compute guard into nova-api's v2.1 pipelines.

# Save trace setting
_XTRACE_VMSTATE=$(set +o | grep xtrace)
set -o xtrace

# install_vmstate - the package and the driver of DevStack's database
function install_vmstate {
    setup_develop "$VMSTATE_DIR" "$DATABASE_TYPE"
    if is_service_enabled vmstate-api; then
        pip_install uwsgi
    fi
}

# configure_vmstate - write vmstate.conf and the uwsgi ini
function configure_vmstate {
    sudo install -d -o "$STACK_USER" "$VMSTATE_CONF_DIR" \
        "$VMSTATE_STATE_PATH"
    rm -f "$VMSTATE_CONF"

    iniset "$VMSTATE_CONF" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset "$VMSTATE_CONF" DEFAULT state_path "$VMSTATE_STATE_PATH"
    iniset "$VMSTATE_CONF" database connection \
        "$(database_connection_url vmstate)"
    iniset "$VMSTATE_CONF" matrix plugins "$VMSTATE_MATRIX_PLUGINS"
    iniset "$VMSTATE_CONF" api host "$VMSTATE_SERVICE_HOST"
    iniset "$VMSTATE_CONF" api port "$VMSTATE_SERVICE_PORT"
    iniset "$VMSTATE_CONF" api auth_strategy keystone
    configure_keystone_authtoken_middleware "$VMSTATE_CONF" vmstate
    if [[ "$DATABASE_TYPE" == "postgresql" ]]; then
        iniset "$VMSTATE_CONF" events driver postgresql
    fi
    if is_service_enabled rabbit; then
        iniset_rpc_backend vmstate "$VMSTATE_CONF"
    fi

    # The compute guard reads Nova's cell database, read-only.
    if is_service_enabled vmstate-guard; then
        iniset "$VMSTATE_CONF" guard state_source nova_db
        iniset "$VMSTATE_CONF" guard reserve "$VMSTATE_GUARD_RESERVE"
        iniset "$VMSTATE_CONF" nova_db connection \
            "$(database_connection_url nova_cell1)"
    fi

    if is_service_enabled vmstate-api; then
        _vmstate_write_uwsgi_config
    fi
    if is_service_enabled vmstate-guard; then
        _vmstate_insert_guard
    fi
}

# _vmstate_write_uwsgi_config - vmstate.wsgi.api:application over HTTP
function _vmstate_write_uwsgi_config {
    rm -f "$VMSTATE_UWSGI_CONF"
    iniset "$VMSTATE_UWSGI_CONF" uwsgi module vmstate.wsgi.api:application
    iniset "$VMSTATE_UWSGI_CONF" uwsgi env \
        "VMSTATE_CONFIG_FILES=$VMSTATE_CONF"
    iniset "$VMSTATE_UWSGI_CONF" uwsgi http-socket \
        "$VMSTATE_SERVICE_HOST:$VMSTATE_SERVICE_PORT"
    iniset "$VMSTATE_UWSGI_CONF" uwsgi processes "$API_WORKERS"
    iniset "$VMSTATE_UWSGI_CONF" uwsgi threads "$VMSTATE_UWSGI_THREADS"
    iniset "$VMSTATE_UWSGI_CONF" uwsgi enable-threads true
    iniset "$VMSTATE_UWSGI_CONF" uwsgi master true
    iniset "$VMSTATE_UWSGI_CONF" uwsgi die-on-term true
    iniset "$VMSTATE_UWSGI_CONF" uwsgi lazy-apps true
    iniset "$VMSTATE_UWSGI_CONF" uwsgi harakiri 330
    iniset "$VMSTATE_UWSGI_CONF" uwsgi http-timeout 330
    iniset "$VMSTATE_UWSGI_CONF" uwsgi buffer-size 65535
}

# _vmstate_insert_guard - the guard after keystonecontext in nova-api
function _vmstate_insert_guard {
    local paste=$NOVA_API_PASTE_INI
    iniset "$paste" filter:vmstate_guard paste.filter_factory \
        vmstate.api.middleware:ComputeGuard.factory
    iniset "$paste" filter:vmstate_guard config_file "$VMSTATE_CONF"
    local composite
    for composite in openstack_compute_api_v21 \
            openstack_compute_api_v21_legacy_v2_compatible; do
        local pipeline
        pipeline=$(iniget "$paste" "composite:$composite" keystone)
        if [[ "$pipeline" != *vmstate_guard* ]]; then
            pipeline=${pipeline/keystonecontext /keystonecontext vmstate_guard }
            iniset "$paste" "composite:$composite" keystone "$pipeline"
        fi
    done
}

# init_vmstate - the database, its schema and the Keystone registration
function init_vmstate {
    recreate_database vmstate
    "$VMSTATE_BIN_DIR/vmstate-manage" --config-file "$VMSTATE_CONF" db sync

    if is_service_enabled keystone; then
        create_service_user vmstate admin
        local service
        service=$(get_or_create_service vmstate instance-state \
            "Instance state authority")
        get_or_create_endpoint "$service" "$REGION_NAME" "$VMSTATE_URL"
    fi
}

# start_vmstate - the API under uwsgi and a sweeper
function start_vmstate {
    if is_service_enabled vmstate-api; then
        run_process vmstate-api \
            "$(which uwsgi) --procname-prefix vmstate-api --ini $VMSTATE_UWSGI_CONF"
        echo "Waiting for vmstate-api at $VMSTATE_URL"
        if ! wait_for_service "$SERVICE_TIMEOUT" "$VMSTATE_URL"; then
            die $LINENO "vmstate-api did not start"
        fi
    fi
    if is_service_enabled vmstate-sweeper; then
        run_process vmstate-sweeper \
            "$VMSTATE_BIN_DIR/vmstate-manage --config-file $VMSTATE_CONF lifecycle sweep"
    fi
}

# stop_vmstate - stop what start_vmstate started
function stop_vmstate {
    stop_process vmstate-api
    stop_process vmstate-sweeper
}

# cleanup_vmstate - remove the configuration and the database
function cleanup_vmstate {
    sudo rm -rf "$VMSTATE_CONF_DIR" "$VMSTATE_STATE_PATH"
    if is_service_enabled mysql postgresql; then
        recreate_database vmstate
    fi
}

if is_service_enabled vmstate-api vmstate-sweeper vmstate-guard; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing vmstate"
        install_vmstate
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring vmstate"
        configure_vmstate
        init_vmstate
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Starting vmstate"
        start_vmstate
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_vmstate
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_vmstate
    fi
fi

# Restore xtrace
$_XTRACE_VMSTATE
