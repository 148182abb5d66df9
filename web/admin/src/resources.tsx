// src/resources.tsx — one react-admin resource per table, generated from its description
// (src/schema.ts) and the token's rights on it (src/permissions.ts): a list grid with a cell
// per column type, filters, sortable headers and pages; a page per row with the tables that
// reference it; create and edit forms (defaults from /T/new/). Create, edit and delete appear
// only where the table takes writes and the token may make them; bulk delete and bulk edit
// only where the table allows them.
import { useEffect, useState } from "react";
import { Box, Typography } from "@mui/material";
import {
    BulkDeleteButton, Create, CreateButton, Datagrid, DeleteButton, Edit, EditButton, ExportButton,
    FilterButton, List, Pagination, Resource, SaveButton, Show, ShowButton, SimpleForm,
    SimpleShowLayout, Toolbar, TopToolbar, useRecordContext, useResourceContext,
} from "react-admin";
import { Link } from "react-router-dom";
import { apiFetch } from "./api";
import { BulkEditButton } from "./BulkEdit";
import { columnField, shownColumns } from "./fields";
import { tableFilters } from "./filters";
import { columnInput } from "./inputs";
import type { TableRights } from "./permissions";
import type { Table } from "./schema";

function pageSizes(table: Table): number[] {
    const sizes = [10, table.pageSize, 25, 50, 100].filter((n) => n <= table.maxPageSize);
    return [...new Set(sizes)].sort((a, b) => a - b);
}

function ListActions({ rights }: { rights: TableRights }) {
    return (
        <TopToolbar>
            <FilterButton />
            {rights.write && <CreateButton />}
            <ExportButton />
        </TopToolbar>
    );
}

/* The buttons over selected rows; none (no selection checkboxes) when the token may neither
 * bulk-delete nor bulk-edit this table. */
function bulkActions({ table, tables, rights }: Props) {
    if (!rights.bulkDelete && !rights.bulkUpdate) return false;
    return (
        <>
            {rights.bulkUpdate && <BulkEditButton table={table} tables={tables} />}
            {rights.bulkDelete && <BulkDeleteButton mutationMode="pessimistic" />}
        </>
    );
}

function TableList({ table, tables, rights }: Props) {
    return (
        <List filters={tableFilters(table, tables)} actions={<ListActions rights={rights} />}
              perPage={table.pageSize} sort={{ field: table.primaryKey, order: "ASC" }}
              pagination={<Pagination rowsPerPageOptions={pageSizes(table)} />}>
            <Datagrid rowClick="show" bulkActionButtons={bulkActions({ table, tables, rights })}>
                {shownColumns(table.columns).map(columnField)}
                {rights.write && <EditButton key="__edit" />}
            </Datagrid>
        </List>
    );
}

/* The tables whose foreign keys point at this one (/T/references/), each a link to its list
 * filtered on this row. */
function ReferencedBy({ table }: { table: Table }) {
    const record = useRecordContext();
    const [references, setReferences] = useState<{ tableName: string; columnName: string }[]>([]);
    useEffect(() => {
        apiFetch(`${table.name}/references/`)
            .then((answer) => setReferences(answer.json?.references ?? []))
            .catch(() => setReferences([]));
    }, [table.name]);
    if (!record || !references.length) return null;
    return (
        <Box sx={{ mt: 2 }} data-testid="referenced-by">
            <Typography variant="subtitle2">Referenced by</Typography>
            {references.map(({ tableName, columnName }) => (
                <Box key={`${tableName}.${columnName}`}>
                    <Link to={`/${tableName}?filter=${encodeURIComponent(JSON.stringify(
                        { [columnName]: record[table.primaryKey] }))}`}>
                        {tableName} rows whose {columnName} is this one
                    </Link>
                </Box>
            ))}
        </Box>
    );
}

function ShowActions({ rights }: { rights: TableRights }) {
    return (
        <TopToolbar>
            {rights.write && <EditButton />}
            {rights.delete && <DeleteButton mutationMode="pessimistic" />}
        </TopToolbar>
    );
}

function TableShow({ table, rights }: Props) {
    return (
        <Show actions={<ShowActions rights={rights} />}>
            <SimpleShowLayout>
                {shownColumns(table.columns).map(columnField)}
                <ReferencedBy table={table} />
            </SimpleShowLayout>
        </Show>
    );
}

function EditToolbar({ rights }: { rights: TableRights }) {
    return (
        <Toolbar sx={{ display: "flex", justifyContent: "space-between" }}>
            <SaveButton />
            {rights.delete && <DeleteButton mutationMode="pessimistic" />}
        </Toolbar>
    );
}

function TableEdit({ table, tables, rights }: Props) {
    return (
        <Edit mutationMode="pessimistic" redirect="show"
              actions={<TopToolbar><ShowButton /></TopToolbar>}>
            <SimpleForm toolbar={<EditToolbar rights={rights} />}>
                {table.columns.map((column) => columnInput(column, tables, "edit"))}
            </SimpleForm>
        </Edit>
    );
}

/* The form starts from /T/new/: the row with its defaults ("now" and uuid4 evaluated). */
function TableCreate({ table, tables }: Props) {
    const resource = useResourceContext();
    const [defaults, setDefaults] = useState<Record<string, any> | null>(null);
    useEffect(() => {
        apiFetch(`${resource}/new/`)
            .then((answer) => setDefaults(Object.fromEntries(Object.entries<any>(answer.json ?? {})
                .filter(([, value]) => value !== null))))
            .catch(() => setDefaults({}));
    }, [resource]);
    if (!defaults) return null;
    return (
        <Create redirect="show">
            <SimpleForm defaultValues={defaults}>
                {table.columns.map((column) => columnInput(column, tables, "create"))}
            </SimpleForm>
        </Create>
    );
}

interface Props {
    table: Table;
    tables: Table[];
    rights: TableRights;
}

export function tableResource(table: Table, tables: Table[], rights: TableRights) {
    const props = { table, tables, rights };
    return (
        <Resource key={table.name} name={table.name}
                  recordRepresentation={table.readable ?? table.primaryKey}
                  list={<TableList {...props} />} show={<TableShow {...props} />}
                  edit={rights.write ? <TableEdit {...props} /> : undefined}
                  create={rights.write ? <TableCreate {...props} /> : undefined} />
    );
}
