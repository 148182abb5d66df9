// src/fields.tsx — how one column's value is shown, by its type: booleans as icons, dates and
// timestamps in the browser's locale, numbers aligned, arrays as chips, JSON as compact text,
// foreign keys by the referenced row's readable value (__readable) linked to that row.
// Secret columns are never shown (the API never sends them).
import { Chip, Stack } from "@mui/material";
import { BooleanField, DateField, FunctionField, NumberField, TextField, useRecordContext }
    from "react-admin";
import { Link } from "react-router-dom";
import type { Column } from "./schema";

interface ColumnProps {
    column: Column;
    label?: string;
    source?: string;
    sortable?: boolean;
}

function ForeignKeyField({ column }: ColumnProps) {
    const record = useRecordContext();
    const value = record?.[column.name];
    if (value === null || value === undefined) return null;
    const text = record?.[`${column.name}_readable`] ?? String(value);
    return (
        <Link to={`/${column.references}/${encodeURIComponent(String(value))}/show`}
              onClick={(event) => event.stopPropagation()}>
            {text}
        </Link>
    );
}

function ArrayField({ column }: ColumnProps) {
    const record = useRecordContext();
    const items: any[] = record?.[column.name] ?? [];
    return (
        <Stack direction="row" spacing={0.5} useFlexGap flexWrap="wrap">
            {items.map((item, index) => <Chip key={index} size="small" label={String(item)} />)}
        </Stack>
    );
}

export function columnField(column: Column) {
    const props = { source: column.name, label: column.title, key: column.name };
    if (column.references) return <ForeignKeyField column={column} {...props} />;
    switch (column.kind) {
    case "boolean":
        return <BooleanField {...props} />;
    case "date":
        return <DateField {...props} />;
    case "datetime":
        return <DateField {...props} showTime />;
    case "integer":
    case "number":
    case "numeric":
        return <NumberField {...props} />;
    case "array":
        return <ArrayField column={column} {...props} sortable={false} />;
    case "json":
        return <FunctionField {...props} sortable={false}
                              render={(record: any) => record?.[column.name] == null ? ""
                                  : JSON.stringify(record[column.name])} />;
    default:
        return <TextField {...props} />;
    }
}

/* The columns a grid or a page shows: all but the secret ones. */
export function shownColumns(columns: Column[]): Column[] {
    return columns.filter((column) => !column.secret);
}
