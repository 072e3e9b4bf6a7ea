CREATE TABLE `batches` (
	`base_offset` integer PRIMARY KEY NOT NULL,
	`last_offset` integer NOT NULL,
	`leader_epoch` integer NOT NULL,
	`max_timestamp` integer NOT NULL,
	`producer_id` integer NOT NULL,
	`size_bytes` integer NOT NULL,
	`data` blob NOT NULL
);
--> statement-breakpoint
CREATE TABLE `leader_epochs` (
	`epoch` integer PRIMARY KEY NOT NULL,
	`start_offset` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `partition_state` (
	`key` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `producer_state` (
	`producer_id` integer PRIMARY KEY NOT NULL,
	`producer_epoch` integer NOT NULL,
	`last_sequence` integer NOT NULL,
	`recent_batches` text NOT NULL,
	`last_timestamp` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `producer_state_last_timestamp` ON `producer_state` (`last_timestamp`);