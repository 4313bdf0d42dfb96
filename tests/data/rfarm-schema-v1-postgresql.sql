-- The PostgreSQL DDL of rfarm schema version 1, as rfarm at commit f6cd9fd creates it (peewee's
-- create_tables for rfarm.state.models.MODELS, printed with a PostgresqlDatabase bound). The upgrade test
-- runs it on an empty database, copies the rows of rfarm-schema-v1.db in, and opens it with the current code.
CREATE TABLE IF NOT EXISTS "schema_info" ("key" VARCHAR(255) NOT NULL PRIMARY KEY, "value" TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS "user" ("id" SERIAL NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "unionid" VARCHAR(255) NOT NULL, "created_at" TIMESTAMP NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "user_name" ON "user" ("name");
CREATE UNIQUE INDEX IF NOT EXISTS "user_unionid" ON "user" ("unionid");
CREATE TABLE IF NOT EXISTS "hardware_config" ("id" SERIAL NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "ram_gb" REAL NOT NULL, "gpus" INTEGER NOT NULL, "gpu_memory_gb" REAL NOT NULL, "tags" TEXT NOT NULL, "created_at" TIMESTAMP NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "hardware_config_name" ON "hardware_config" ("name");
CREATE TABLE IF NOT EXISTS "node" ("id" SERIAL NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "hostname" VARCHAR(255) NOT NULL, "os" VARCHAR(255) NOT NULL, "pid" INTEGER NOT NULL, "cpu_count" INTEGER NOT NULL, "ram_gb" REAL NOT NULL, "gpus" INTEGER NOT NULL, "gpu_memory_gb" REAL NOT NULL, "tags" TEXT NOT NULL, "renderers" TEXT NOT NULL, "version" VARCHAR(255) NOT NULL, "is_enabled" BOOLEAN NOT NULL, "state" VARCHAR(255) NOT NULL, "cpu_percent" REAL NOT NULL, "ram_used_gb" REAL NOT NULL, "registered_at" TIMESTAMP NOT NULL, "last_seen" TIMESTAMP NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "node_name" ON "node" ("name");
CREATE TABLE IF NOT EXISTS "task" ("id" SERIAL NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "name" VARCHAR(255) NOT NULL, "scene" TEXT NOT NULL, "renderer" VARCHAR(255) NOT NULL, "status" VARCHAR(255) NOT NULL, "priority" INTEGER NOT NULL, "frames_spec" TEXT NOT NULL, "camera" VARCHAR(255), "layers" TEXT NOT NULL, "output_dir" TEXT, "chunk_size" INTEGER NOT NULL, "timeout_s" INTEGER, "ram_gb" REAL NOT NULL, "gpus" INTEGER NOT NULL, "gpu_memory_gb" REAL NOT NULL, "tags" TEXT NOT NULL, "renderer_version" VARCHAR(255) NOT NULL, "no_progress_timeout_s" INTEGER, "max_attempts" INTEGER NOT NULL, "max_lost_leases" INTEGER NOT NULL, "stop_after_test" BOOLEAN NOT NULL, "hold_after_test" BOOLEAN NOT NULL, "options" TEXT NOT NULL, "created_at" TIMESTAMP NOT NULL, "finished_at" TIMESTAMP, FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "task_user_id" ON "task" ("user_id");
CREATE INDEX IF NOT EXISTS "task_status" ON "task" ("status");
CREATE TABLE IF NOT EXISTS "frame" ("id" SERIAL NOT NULL PRIMARY KEY, "task_id" INTEGER NOT NULL, "number" INTEGER NOT NULL, "chunk" INTEGER NOT NULL, "is_test" BOOLEAN NOT NULL, "is_released" BOOLEAN NOT NULL, "rank" INTEGER NOT NULL, "status" VARCHAR(255) NOT NULL, "attempts" INTEGER NOT NULL, "failures" INTEGER NOT NULL, "lost_leases" INTEGER NOT NULL, "worker" VARCHAR(255), "lease_token" VARCHAR(255), "lease_until" TIMESTAMP, "progress" REAL NOT NULL, "started_at" TIMESTAMP, "finished_at" TIMESTAMP, "error" TEXT, "outputs" TEXT NOT NULL, "log_path" TEXT, FOREIGN KEY ("task_id") REFERENCES "task" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "frame_task_id" ON "frame" ("task_id");
CREATE UNIQUE INDEX IF NOT EXISTS "frame_task_id_number" ON "frame" ("task_id", "number");
CREATE INDEX IF NOT EXISTS "frame_task_id_status_is_released_rank_chunk_number" ON "frame" ("task_id", "status", "is_released", "rank", "chunk", "number");
CREATE INDEX IF NOT EXISTS "frame_status_is_released_rank_task_id_chunk" ON "frame" ("status", "is_released", "rank", "task_id", "chunk");
CREATE INDEX IF NOT EXISTS "frame_status_lease_until" ON "frame" ("status", "lease_until");
CREATE TABLE IF NOT EXISTS "asset" ("id" SERIAL NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "hash" VARCHAR(255) NOT NULL, "xxhash" VARCHAR(255) NOT NULL, "size" INTEGER NOT NULL, "key" TEXT NOT NULL, "created_at" TIMESTAMP NOT NULL, "last_used" TIMESTAMP NOT NULL, FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "asset_user_id" ON "asset" ("user_id");
CREATE INDEX IF NOT EXISTS "asset_hash_xxhash" ON "asset" ("hash", "xxhash");
CREATE UNIQUE INDEX IF NOT EXISTS "asset_user_id_hash_xxhash" ON "asset" ("user_id", "hash", "xxhash");
CREATE TABLE IF NOT EXISTS "task_asset" ("id" SERIAL NOT NULL PRIMARY KEY, "task_id" INTEGER NOT NULL, "asset_id" INTEGER NOT NULL, "path" TEXT NOT NULL, "is_scene" BOOLEAN NOT NULL, FOREIGN KEY ("task_id") REFERENCES "task" ("id") ON DELETE CASCADE, FOREIGN KEY ("asset_id") REFERENCES "asset" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "task_asset_task_id" ON "task_asset" ("task_id");
CREATE INDEX IF NOT EXISTS "task_asset_asset_id" ON "task_asset" ("asset_id");
CREATE UNIQUE INDEX IF NOT EXISTS "task_asset_task_id_path" ON "task_asset" ("task_id", "path");
CREATE TABLE IF NOT EXISTS "node_failure" ("id" SERIAL NOT NULL PRIMARY KEY, "task_id" INTEGER NOT NULL, "node" VARCHAR(255) NOT NULL, "failures" INTEGER NOT NULL, FOREIGN KEY ("task_id") REFERENCES "task" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "node_failure_task_id" ON "node_failure" ("task_id");
CREATE UNIQUE INDEX IF NOT EXISTS "node_failure_task_id_node" ON "node_failure" ("task_id", "node");
CREATE TABLE IF NOT EXISTS "event" ("id" SERIAL NOT NULL PRIMARY KEY, "task_id" INTEGER, "frame_id" INTEGER, "kind" VARCHAR(255) NOT NULL, "node" VARCHAR(255), "message" TEXT NOT NULL, "bytes" BIGINT, "seconds" REAL, "created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("task_id") REFERENCES "task" ("id") ON DELETE CASCADE, FOREIGN KEY ("frame_id") REFERENCES "frame" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "event_task_id" ON "event" ("task_id");
CREATE INDEX IF NOT EXISTS "event_frame_id" ON "event" ("frame_id");
CREATE INDEX IF NOT EXISTS "event_created_at" ON "event" ("created_at");
